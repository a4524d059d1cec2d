/**
 * The protocols on the real backbones of @dino-ts/backbones (a tiny ViT and a tiny ResNet).
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Rng } from '@dino-ts/core';
import { assertClose, describeBackends } from '@dino-ts/core/testing';
import { createBackbone } from '@dino-ts/backbones';
import { attentionMaps, hasSelfAttention } from './attention';
import { backboneFeatures } from './features';
import { extractFeatures } from './extract-features';
import { evaluateKnn } from './knn';
import { linearProbe } from './linear-probe';
import { fromArrays } from './image-source';
import { segmentVideo } from './video-segmentation';

function images(n: number, size: number, seed: number, classes = 2) {
  const rng = new Rng(seed);
  const data = new Float32Array(n * size * size * 3);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < size * size * 3; p++) data[i * size * size * 3 + p] = (labels[i] ? 0.8 : -0.8) * Math.sin(p * 0.1) + rng.normal(0, 0.3);
  }
  return { data, labels, shape: [n, size, size, 3] as [number, number, number, number] };
}

describeBackends('protocols on @dino-ts/backbones', () => {
  it('ViT: extraction matches forward, k-NN, linear probe, attention maps, video propagation, no leaks', async () => {
    const vit = createBackbone('vit', { imgSize: 16, patchSize: 4, embedDim: 16, depth: 2, numHeads: 2, seed: 1 });
    const train = images(12, 16, 1), test = images(6, 16, 2);
    const before = tf.memory().numTensors;

    const progress: number[] = [];
    const f = await extractFeatures(vit, fromArrays({ data: test.data, shape: test.shape }, test.labels), {
      batchSize: 4, onProgress: (done) => progress.push(done),
    });
    expect(progress).toEqual([4, 6]);
    expect([f.rows, f.dim]).toEqual([6, 16]);
    const x = tf.tensor4d(test.data, test.shape);
    const direct = vit.forward(x);
    assertClose(f.data, await direct.data(), 1e-6, 'extracted CLS vs forward');
    direct.dispose();
    // The CLS of the last block through getIntermediateLayers is forward's feature.
    const two = backboneFeatures(vit, x, { nLastBlocks: 2 });
    assertClose((await two.data()).filter((_, i) => i % 32 >= 16), f.data, 1e-5, 'last block CLS');
    tf.dispose([x, two]);

    const knn = await evaluateKnn(vit, fromArrays({ data: train.data, shape: train.shape }, train.labels),
      fromArrays({ data: test.data, shape: test.shape }, test.labels), { k: [1, 5] });
    expect(knn.results.map((r) => r.k)).toEqual([1, 5]);
    const probe = await linearProbe(vit, fromArrays({ data: train.data, shape: train.shape }, train.labels),
      fromArrays({ data: test.data, shape: test.shape }, test.labels), { nLastBlocks: 2, avgpoolPatchTokens: true, epochs: 2, batchSize: 4 });
    expect(probe.classifier.dim).toBe(3 * 16);
    probe.classifier.dispose();

    const pair = tf.tensor4d(test.data.subarray(0, 2 * 16 * 16 * 3), [2, 16, 16, 3]);
    const maps = attentionMaps(vit, pair);
    expect(maps.perHead.shape).toEqual([2, 2, 4, 4]);
    // CLS-to-patch attention is a softmax row without its CLS-to-CLS entry: sums below 1.
    const sumsT = tf.sum(maps.perHead, [2, 3]);
    for (const s of await sumsT.data()) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(1);
    }
    tf.dispose([pair, sumsT, maps.perHead, maps.mean]);

    const frames = { length: 3, getFrame: (i: number) => tf.tensor3d(test.data.subarray(i * 768, (i + 1) * 768), [16, 16, 3]) };
    const first = { data: Int32Array.from({ length: 20 * 20 }, (_, i) => (i % 20 < 10 ? 1 : 0)), height: 20, width: 20 };
    const labels = await segmentVideo(vit, frames, first, { nLastFrames: 1, sizeMaskNeighborhood: 2 });
    expect(labels.map((l) => [l.height, l.width])).toEqual([[20, 20], [20, 20], [20, 20]]);
    expect(tf.memory().numTensors).toBe(before);
    vit.dispose();
  });

  it('ResNet: features are forward()\'s pooled vector whatever nLastBlocks (as eval_linear for convnets)', async () => {
    const resnet = createBackbone('resnet', { layers: [1, 1, 1, 1], width: 4, smallInput: true, seed: 2 });
    const test = images(2, 8, 3);
    const x = tf.tensor4d(test.data, test.shape);
    const a = backboneFeatures(resnet, x, { nLastBlocks: 4 });
    const b = resnet.forward(x);
    expect(a.shape).toEqual(b.shape);
    assertClose(await a.data(), await b.data(), 1e-6, 'resnet features');
    const f = await extractFeatures(resnet, fromArrays({ data: test.data, shape: test.shape }));
    expect(f.labels).toBeNull();
    expect(f.dim).toBe(resnet.embedDim);
    // No attention maps from a convnet: a clear error, nothing leaked.
    const before = tf.memory().numTensors;
    expect(hasSelfAttention(resnet)).toBe(false);
    expect(() => attentionMaps(resnet, x)).toThrow(/has no self-attention.*need a ViT/);
    expect(tf.memory().numTensors).toBe(before);
    // Label propagation reads the convnet's feature map (stride 8 here) like patch tokens.
    const video = images(2, 16, 4);
    const frames = { length: 2, getFrame: (i: number) => tf.tensor3d(video.data.subarray(i * 768, (i + 1) * 768), [16, 16, 3]) };
    const first = { data: Int32Array.from({ length: 256 }, (_, i) => (i % 16 < 8 ? 1 : 0)), height: 16, width: 16 };
    const labels = await segmentVideo(resnet, frames, first, { nLastFrames: 1, sizeMaskNeighborhood: 1, topk: 2 });
    expect(labels.map((l) => [l.height, l.width])).toEqual([[16, 16], [16, 16]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, a, b]);
    resnet.dispose();
  });
});
