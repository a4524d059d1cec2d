import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '@dino-ts/core';
import { describeBackends, fx } from '@dino-ts/core/testing';
import type { Backbone } from '@dino-ts/backbones';
import { attentionMaps, attentionMask, attentionMaskArray, upsampleNearest } from './attention';
import { evaluateAttentionSegmentation, jaccard } from './attention-segmentation';
import { fromArrays } from './image-source';
import { createTinyBackbone, evalFixture, stubBackbone } from './testing';

const { tensors, metadata } = evalFixture('attention.safetensors');
const [B, NH, N1] = tensors.attentions.shape;
const p = Number(metadata.patch_size), hf = Number(metadata.h_featmap), wf = Number(metadata.w_featmap);

/** A backbone whose last self-attention is the fixture's. */
function fixedAttentionBackbone(): Backbone {
  return stubBackbone({
    name: 'fixed', embedDim: 4, patchSize: p, imgSize: [hf * p, wf * p], depth: 1,
    getLastSelfAttention: () => tf.tensor4d(fx(tensors, 'attentions'), [B, NH, N1, N1]),
  });
}

describeBackends('attention maps and masks vs visualize_attention', () => {
  it('reproduces the threshold masks (60% and 90% of the mass) and the upsampled maps exactly', async () => {
    const images = tf.zeros([B, hf * p, wf * p, 3]) as tf.Tensor4D;
    const { perHead, mean } = attentionMaps(fixedAttentionBackbone(), images);
    expect(perHead.shape).toEqual([B, NH, hf, wf]);
    expect(mean.shape).toEqual([B, hf, wf]);
    expect(Array.from(await upsampleNearest(perHead, p).data())).toEqual(Array.from(fx(tensors, 'maps_upsampled')));
    for (const th of [0.6, 0.9]) {
      const masks = upsampleNearest(await attentionMask(perHead, th), p);
      const expected = fx(tensors, `mask_th${Math.round(th * 100)}`);
      const got = await masks.data();
      let diff = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== expected[i]) diff++;
      expect(diff, `threshold ${th}: ${diff} pixels differ`).toBe(0);
    }
    // The mean map is the mean over heads.
    const m = await mean.data(), ph = await perHead.data();
    expect(m[0]).toBeCloseTo((ph[0] + ph[hf * wf] + ph[2 * hf * wf]) / 3, 6);
  });

  it('reads CLS attention from a real backbone, scores masks by Jaccard, and frees its tensors', async () => {
    const bb = createTinyBackbone({ patchSize: 4, embedDim: 8, numHeads: 2, depth: 2, seed: 5 });
    const n = 3, H = 16, W = 20;
    const data = Float32Array.from({ length: n * H * W * 3 }, (_, i) => Math.sin(i * 0.37));
    // Object masks: a block in the middle of each image.
    const masks = Uint8Array.from({ length: n * H * W }, (_, i) => {
      const y = Math.floor((i % (H * W)) / W), x = i % W;
      return y >= 4 && y < 12 && x >= 4 && x < 16 ? 1 : 0;
    });
    const source = fromArrays({ data, shape: [n, H, W, 3] }, undefined, masks);
    const before = tf.memory().numTensors;
    const r = await evaluateAttentionSegmentation(bb, source, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.numImages).toBe(n);
    expect(r.numHeads).toBe(2);
    expect(r.perHead[r.bestHead]).toBe(r.bestHeadJaccard);
    // Each per-image value is the Jaccard of the thresholded head map against the mask.
    const { perHead } = attentionMaps(bb, tf.tensor4d(data.subarray(0, H * W * 3), [1, H, W, 3]));
    const head0 = attentionMaskArray((await perHead.data()).subarray(0, 20), 0.6);
    const up = new Uint8Array(H * W);
    for (let i = 0; i < H * W; i++) up[i] = head0[Math.floor(Math.floor(i / W) / 4) * 5 + Math.floor((i % W) / 4)];
    expect(r.perImage.perHead[0]).toBeCloseTo(jaccard(up, masks.subarray(0, H * W)), 12);
    bb.dispose();
  });
});

describe('attention mask details', () => {
  it('keeps the smallest set of largest values holding the mass, and validates input', () => {
    // Mass 0.5, 0.3, 0.2: 60% needs the two largest; 40% needs the largest only.
    expect(Array.from(attentionMaskArray([0.2, 0.5, 0.3], 0.6))).toEqual([0, 1, 1]);
    expect(Array.from(attentionMaskArray([0.2, 0.5, 0.3], 0.4))).toEqual([0, 1, 0]);
    expect(Array.from(attentionMaskArray([2, 5, 3], 1))).toEqual([1, 1, 1]);
    expect(() => attentionMaskArray([1], 1.5)).toThrow(/threshold/);
    expect(jaccard([1, 1, 0, 0], [0, 1, 1, 0])).toBeCloseTo(1 / 3, 12);
    expect(jaccard([0, 0], [0, 0])).toBe(1);
    expect(() => jaccard([1], [1, 0])).toThrow(ShapeError);
  });
});
