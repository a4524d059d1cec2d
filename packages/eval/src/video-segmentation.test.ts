import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '@dino-ts/core';
import { assertClose, describeBackends, fx } from '@dino-ts/core/testing';
import type { Backbone } from '@dino-ts/backbones';
import { labelPropagation, restrictNeighborhood, segmentVideo } from './video-segmentation';
import { pilNearestIndices } from './resize';
import { evalFixture, ints, stubBackbone } from './testing';

const { tensors, metadata } = evalFixture('video.safetensors');
const [T, N1, D] = tensors.tokens.shape;
const tokens = fx(tensors, 'tokens');
const H = Number(metadata.H), W = Number(metadata.W), p = Number(metadata.patch_size);
const h = H / p, w = W / p, hw = h * w;
const nLast = Number(metadata.n_last_frames);
const opts = { topk: Number(metadata.topk), sizeMaskNeighborhood: Number(metadata.size_mask_neighborhood) };

/** Patch features of frame t: [h*w, D]. */
const feat = (t: number) => tf.tensor2d(tokens.subarray((t * N1 + 1) * D, (t + 1) * N1 * D), [hw, D]);
/** A fixture soft segmentation [C, h, w] as [h*w, C]. */
const seg = (key: string) => {
  const [c] = tensors[key].shape;
  return tf.transpose(tf.tensor2d(fx(tensors, key), [c, hw])) as tf.Tensor2D;
};

/** A backbone whose last block returns the fixture tokens of frame i (all pixels of frame i equal i). */
function frameBackbone(): Backbone {
  return stubBackbone({
    name: 'frames', embedDim: D, patchSize: p, imgSize: [H, W], depth: 1,
    // The fixture's last-block tokens of frame t: CLS first, then the patches.
    forwardFeatures: (x) => {
      const t = tf.slice(x, [0, 0, 0, 0], [1, 1, 1, 1]).dataSync()[0];
      return {
        cls: tf.tensor2d(tokens.subarray(t * N1 * D, (t * N1 + 1) * D), [1, D]),
        patchTokens: tf.tensor3d(tokens.subarray((t * N1 + 1) * D, (t + 1) * N1 * D), [1, N1 - 1, D]),
      };
    },
  });
}

describeBackends('label propagation vs eval_video_segmentation', () => {
  it('one step reproduces label_propagation (first step, and a step with a full context queue)', async () => {
    const first = await labelPropagation(feat(1), [feat(0)], [seg('first_seg')], { ...opts, height: h, width: w }).data();
    const r1 = assertClose(first, await seg('propagated1').data(), 2e-5, 'step 1');
    // Frame 5: context = frame 0 + frames 2, 3, 4 (n_last_frames 3) with their propagated labels.
    const ctx = [2, 3, 4];
    const fifth = labelPropagation(
      feat(5), [feat(0), ...ctx.map(feat)], [seg('first_seg'), ...ctx.map((t) => seg(`propagated${t}`))],
      { ...opts, height: h, width: w },
    );
    const r5 = assertClose(await fifth.data(), await seg('propagated5').data(), 2e-5, 'step 5');
    console.log(`label propagation: max abs error ${r1.maxAbs.toExponential(2)} (step 1), ${r5.maxAbs.toExponential(2)} (step 5)`);
  });

  it('segments the whole video exactly as eval_video_tracking_davis, without leaking', async () => {
    const labels = ints(tensors, 'labels');
    const [, oriH, oriW] = tensors.labels.shape;
    const first = { data: labels.subarray(0, oriH * oriW), height: oriH, width: oriW };
    const frames = { length: T, getFrame: (i: number) => tf.fill([H, W, 3], i) as tf.Tensor3D };
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const out = await segmentVideo(frameBackbone(), frames, first, { ...opts, nLastFrames: nLast, onFrame: (i) => seen.push(i) });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (let t = 0; t < T; t++) {
      const expected = labels.subarray(t * oriH * oriW, (t + 1) * oriH * oriW);
      let diff = 0;
      for (let i = 0; i < expected.length; i++) if (out[t].data[i] !== expected[i]) diff++;
      expect(diff, `frame ${t}: ${diff} pixels differ`).toBe(0);
    }
  });
});

describe('video helpers', () => {
  it('builds the neighbourhood window and Pillow nearest indices', () => {
    const m = restrictNeighborhood(3, 4, 1);
    // Patch (1, 1) sees the 3x3 block around it; corner (0, 0) sees 2x2.
    expect(Array.from(m.subarray(5 * 12, 6 * 12))).toEqual([1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0]);
    expect(m.subarray(0, 12).reduce((a, b) => a + b, 0)).toBe(4);
    // Pillow 9.4 resizing [0, 1, 2, 3] to 15 pixels; index 7 is where accumulated positions differ
    // from floor((x + 0.5) * scale), which gives 2.
    expect(Array.from(pilNearestIndices(4, 15))).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
    expect(() => labelPropagation(tf.zeros([4, 2]), [], [], { height: 2, width: 2 })).toThrow(ShapeError);
    expect(() => labelPropagation(tf.zeros([4, 2]), [tf.zeros([4, 2])], [tf.zeros([4, 1])], { height: 2, width: 2, topk: 5 })).toThrow(ConfigError);
  });
});
