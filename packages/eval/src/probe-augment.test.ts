/**
 * The linear probe's crops are torchvision's: the boxes are those of @dino-ts/augment's sampler
 * (tested against torchvision's own draws in packages/augment) on the same random draws, sides of
 * exactly x.5 round half to even as get_params' round() does, the fallback is torchvision's
 * central crop (augment's fixture, written by torchvision), and the pixels are augment's
 * resizedCrop of those boxes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dino-ts/core';
import { describeBackends, fx, readFixture } from '@dino-ts/core/testing';
import { resizedCrop, sampleResizedCropBox } from '@dino-ts/augment';
import { randomResizedCropFlip, sampleProbeCrops, type RandomResizedCropOptions } from './probe-augment';

/** A generator whose uniform draws in [0, 1) are given in order (then 0.5). */
class ScriptedRng extends Rng {
  constructor(private readonly draws: number[]) {
    super(0);
  }

  override next(): number {
    return this.draws.shift() ?? 0.5;
  }
}

describe('sampleProbeCrops', () => {
  it("draws augment's torchvision boxes, then the flip, from the same generator", () => {
    const cases: { h: number; w: number; opts: RandomResizedCropOptions }[] = [
      { h: 224, w: 224, opts: {} },
      { h: 20, w: 60, opts: { scale: [0.05, 1], flipProbability: 0.3 } },
      { h: 28, w: 28, opts: { scale: [0.4, 1], ratio: [0.5, 2] } },
    ];
    for (const [k, { h, w, opts }] of cases.entries()) {
      const got = sampleProbeCrops(new Rng(10 + k), 500, h, w, opts);
      const rng = new Rng(10 + k);
      for (let i = 0; i < 500; i++) {
        expect(got.boxes[i]).toEqual(sampleResizedCropBox(rng, h, w, opts.scale, opts.ratio));
        expect(got.flip[i]).toBe(rng.bernoulli(opts.flipProbability ?? 0.5) ? 1 : 0);
      }
    }
  });

  it("rounds a side of exactly x.5 half to even, as torchvision's get_params (Math.round would round up)", () => {
    // A 16 x 16 image with aspect ratio 1: a side is sqrt(256 * scale), exact for these scales.
    const side = (s: number) => {
      const draws = [0, 0.5, 0, 0, 0.9]; // scale = lo, log-ratio 0, top 0, left 0, no flip
      const { boxes, flip } = sampleProbeCrops(new ScriptedRng(draws), 1, 16, 16, { scale: [s, 1], ratio: [1, 1] });
      expect(flip[0]).toBe(0);
      return boxes[0];
    };
    expect(side(2.5 ** 2 / 256)).toEqual({ top: 0, left: 0, height: 2, width: 2 }); // Math.round: 3
    expect(side(6.5 ** 2 / 256)).toEqual({ top: 0, left: 0, height: 6, width: 6 }); // Math.round: 7
    expect(side(3.5 ** 2 / 256)).toEqual({ top: 0, left: 0, height: 4, width: 4 }); // odd: up to even
  });

  it("falls back to torchvision's central crop when no try fits (augment's torchvision fixture)", () => {
    const f = readFixture(fileURLToPath(new URL('../../augment/fixtures/sampling.safetensors', import.meta.url)));
    const rows = fx(f.tensors, 'fallback');
    let checked = 0;
    for (let r = 0; r < rows.length / 8; r++) {
      const [h, w, lo, hi, top, left, height, width] = rows.slice(r * 8, r * 8 + 8);
      // Scales above 1 are torchvision-only (augment rejects them).
      if (hi > 1) continue;
      expect(sampleProbeCrops(new Rng(r), 1, h, w, { scale: [lo, hi] }).boxes[0]).toEqual({ top, left, height, width });
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describeBackends('randomResizedCropFlip', () => {
  it("is augment's resizedCrop (bilinear, flip folded in) of the sampled boxes, and frees its temporaries", async () => {
    const rng = new Rng(1);
    const images = tf.tensor4d(Float32Array.from({ length: 4 * 12 * 10 * 3 }, () => rng.next()), [4, 12, 10, 3]);
    const before = tf.memory().numTensors;
    const out = randomResizedCropFlip(images, new Rng(7), { size: [6, 8] });
    expect(tf.memory().numTensors).toBe(before + 1);
    const { boxes, flip } = sampleProbeCrops(new Rng(7), 4, 12, 10);
    const expected = resizedCrop(images, boxes, [6, 8], { method: 'bilinear', flip });
    expect(out.shape).toEqual([4, 6, 8, 3]);
    expect(Array.from(await out.data())).toEqual(Array.from(await expected.data()));
    tf.dispose([images, out, expected]);
  });
});
