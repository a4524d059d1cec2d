import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, Rng, ShapeError } from '@dino-ts/core';
import { assertClose, describeBackends, fx } from '@dino-ts/core/testing';
import type { Backbone } from '@dino-ts/backbones';
import { backboneFeatures, featureDim } from './features';
import { LinearClassifier } from './linear-classifier';
import { linearProbe } from './linear-probe';
import { cosineLr, epochBatches, evaluateLinearClassifier, trainLinearClassifier } from './linear-train';
import { fromArrays } from './image-source';
import { createTinyBackbone, evalFixture, ints, metaNumbers, stubBackbone } from './testing';

const { tensors, metadata } = evalFixture('linear.safetensors');

/** A backbone whose last blocks are the fixture's stored outputs. */
function fixedLayersBackbone(): Backbone {
  const layers = [0, 1, 2, 3].map((i) => tensors[`layer${i}`]);
  const [, , d] = layers[0].shape;
  return stubBackbone({
    // 8x8 inputs with patch 4: 1 + 4 tokens, as the fixture's layers.
    name: 'fixed', embedDim: d, patchSize: 4, imgSize: [8, 8], depth: 4,
    getIntermediateLayers: (_x, n = 1) => layers.slice(4 - n).map((l) => tf.tensor3d(l.data as Float32Array, l.shape as [number, number, number])),
  });
}

describeBackends('linear probe vs eval_linear', () => {
  it('trains LinearClassifier exactly as eval_linear.train (SGD momentum, cosine lr) and scores as validate_network', async () => {
    const dim = tensors.train_features.shape[1];
    const numLabels = Number(metadata.num_labels);
    const clf = new LinearClassifier(dim, numLabels);
    clf.weight.assign(tf.tensor2d(fx(tensors, 'init_weight'), [numLabels, dim]));
    clf.bias.assign(tf.tensor1d(fx(tensors, 'init_bias')));
    const trainLabels = ints(tensors, 'train_labels');
    const testLabels = ints(tensors, 'test_labels');
    const train = { data: fx(tensors, 'train_features'), rows: trainLabels.length, dim };
    const test = { data: fx(tensors, 'test_features'), rows: testLabels.length, dim };
    const before = tf.memory().numTensors;
    const res = await trainLinearClassifier(train, trainLabels, {
      classifier: clf, epochs: Number(metadata.epochs), batchSize: Number(metadata.batch_size),
      lr: Number(metadata.lr), shuffle: false, test: { features: test, labels: testLabels },
    });
    expect(tf.memory().numTensors).toBe(before);
    const w = assertClose(await clf.weight.data(), fx(tensors, 'final_weight'), 2e-5, 'linear.weight');
    const b = assertClose(await clf.bias.data(), fx(tensors, 'final_bias'), 2e-5, 'linear.bias');
    console.log(`linear probe: max |dW| ${w.maxAbs.toExponential(2)}, |db| ${b.maxAbs.toExponential(2)}`);
    const acc1 = metaNumbers(metadata, 'acc1'), acc5 = metaNumbers(metadata, 'acc5'), loss = metaNumbers(metadata, 'loss');
    res.history.forEach((h, e) => {
      expect(h.top1).toBeCloseTo(acc1[e], 5);
      expect(h.top5).toBeCloseTo(acc5[e], 5);
      expect(Math.abs(h.loss - loss[e]) / loss[e]).toBeLessThan(1e-5);
    });
    expect(res.bestTop1).toBeCloseTo(Math.max(...acc1), 5);
    const logits = clf.forward(tf.tensor2d(test.data, [test.rows, dim]));
    assertClose(await logits.data(), fx(tensors, 'test_logits'), 1e-4, 'test logits');
    clf.dispose();
  });

  it('builds the features of eval_linear from get_intermediate_layers (n last CLS, avgpool interleaved)', async () => {
    const bb = fixedLayersBackbone();
    const x = tf.zeros([3, 8, 8, 3]) as tf.Tensor4D;
    for (const [n, avg] of [[4, false], [1, true], [2, false]] as const) {
      const f = backboneFeatures(bb, x, { nLastBlocks: n, avgpoolPatchTokens: avg });
      expect(f.shape).toEqual([3, featureDim(bb, { nLastBlocks: n, avgpoolPatchTokens: avg })]);
      assertClose(await f.data(), fx(tensors, `features_n${n}_avgpool${avg ? 1 : 0}`), 1e-6, `n=${n} avgpool=${avg}`);
    }
  });

  it('runs the whole protocol on a backbone, cached and with augmentation, without leaking', async () => {
    const bb = createTinyBackbone({ patchSize: 4, embedDim: 8, depth: 2, seed: 3 });
    // Two classes: a colour ramp or its negative, with noise.
    const make = (n: number, seed: number) => {
      const rng = new Rng(seed);
      const data = new Float32Array(n * 8 * 8 * 3), labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = i % 2;
        for (let p = 0; p < 64; p++) {
          const y = Math.floor(p / 8), xx = p % 8;
          for (let c = 0; c < 3; c++) data[(i * 64 + p) * 3 + c] = ((labels[i] ? 1 : -1) * (c + 1) * (y + xx)) / 8 + rng.normal(0, 0.3);
        }
      }
      return fromArrays({ data, shape: [n, 8, 8, 3] }, labels);
    };
    const train = make(32, 1), test = make(16, 2);
    const before = tf.memory().numTensors;
    const cached = await linearProbe(bb, train, test, { nLastBlocks: 2, epochs: 5, batchSize: 8, lr: 1 });
    const aug = await linearProbe(bb, train, test, { nLastBlocks: 1, avgpoolPatchTokens: true, epochs: 2, batchSize: 16, lr: 20, augment: true });
    cached.classifier.dispose();
    aug.classifier.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(cached.history).toHaveLength(5);
    expect(cached.top1).toBeGreaterThan(80);
    expect(cached.top5).toBeNull(); // 2 classes
    expect(aug.classifier.dim).toBe(16);
    expect(aug.history.map((h) => h.lr)).toEqual([cosineLr(20 * 16 / 256, 0, 2), cosineLr(20 * 16 / 256, 1, 2)]);
    // A source read only in ranges (no getItems): contiguous batches, the same loop.
    const ranged = { length: train.length, getBatch: (s: number, e: number) => train.getBatch(s, e) };
    const before2 = tf.memory().numTensors;
    const rangedRes = await linearProbe(bb, ranged, test, { nLastBlocks: 1, epochs: 2, batchSize: 12, lr: 20, augment: true });
    rangedRes.classifier.dispose();
    expect(tf.memory().numTensors).toBe(before2);
    expect(rangedRes.history).toHaveLength(2);
    bb.dispose();
  });
});

describe('epochBatches', () => {
  it('cuts a permutation of the rows (random access) or visits contiguous batches in a shuffled order', () => {
    expect(epochBatches(10, 4, false, new Rng(0))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(epochBatches(10, 4, false, new Rng(0), false)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    const perm = Array.from(new Rng(3).permutation(10));
    expect(epochBatches(10, 4, true, new Rng(3))).toEqual([perm.slice(0, 4), perm.slice(4, 8), perm.slice(8)]);
    const visit = Array.from(new Rng(3).permutation(3));
    const ranges = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]];
    expect(epochBatches(10, 4, true, new Rng(3), false)).toEqual(visit.map((b) => ranges[b]));
  });
});

describe('linear probe options', () => {
  it('follows CosineAnnealingLR and rejects bad settings', async () => {
    expect(cosineLr(1, 0, 100)).toBe(1);
    expect(cosineLr(1, 50, 100)).toBeCloseTo(0.5, 12);
    const f = { data: new Float32Array(6), rows: 3, dim: 2 };
    await expect(trainLinearClassifier(f, [0, 1, 2], { epochs: 0 })).rejects.toThrow(ConfigError);
    await expect(trainLinearClassifier(f, [0, 1, 5], { numLabels: 3 })).rejects.toThrow(/labels\[2\]/);
    await expect(trainLinearClassifier(f, [0, 1], {})).rejects.toThrow(ShapeError);
    const clf = new LinearClassifier(2, 3);
    await expect(evaluateLinearClassifier(clf, f, [0, 1, 3])).rejects.toThrow(ConfigError);
    expect([...clf.params().keys()]).toEqual(['linear.weight', 'linear.bias']);
    clf.dispose();
  });
});
