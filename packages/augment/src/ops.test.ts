/**
 * Each deterministic op against torchvision 0.14's tensor op on the same input and parameters
 * (fixtures from scripts/fixtures/make_augment.py), on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, afterAll } from 'vitest';
import { describeBackends, assertClose } from '@dino-ts/core/testing';
import { loadFixture, fixtureTensor, fixtureNumbers } from './test-fixtures';
import { resizedCrop, type CropBox } from './resized-crop';
import { hflip } from './flip';
import { adjustBrightness, adjustContrast, adjustSaturation } from './adjust';
import { adjustHue } from './hue';
import { rgbToGrayscale } from './grayscale';
import { gaussianBlur } from './blur';
import { solarize } from './solarize';
import { normalize } from './normalize';

const fx = loadFixture('ops.safetensors');
/**
 * The agreement asked for is 2 levels of an 8-bit image (2/255); the ops reach float32 rounding,
 * so the tests hold them to 1e-5 to catch any drift.
 */
const TOL = 1e-5;
const worst: Record<string, number> = {};

function check(label: string, actual: tf.Tensor, key: string): void {
  const expected = fx.tensors[key];
  expect(actual.shape).toEqual(expected.shape);
  const r = assertClose(actual.dataSync(), expected.data as Float32Array, TOL, label);
  worst[label] = Math.max(worst[label] ?? 0, r.maxAbs);
}

function boxes(k: number): CropBox[] {
  const v = fixtureNumbers(fx, `crop_boxes_${k}`);
  return [0, 1].map((b) => ({ top: v[4 * b], left: v[4 * b + 1], height: v[4 * b + 2], width: v[4 * b + 3] }));
}

afterAll(() => {
  const lines = Object.entries(worst).map(([k, v]) => `${k}: ${v.toExponential(2)}`);
  console.log(`max abs error vs torchvision (tolerance ${TOL.toExponential(2)}):\n  ${lines.join('\n  ')}`);
});

describeBackends('augment ops vs torchvision', (backend) => {
  const images = (name: string) => fixtureTensor<tf.Rank.R4>(fx, name);

  for (const method of ['bicubic', 'bilinear'] as const) {
    it(`resizedCrop ${method}: down, up, non-square, whole image; batched and per-sample`, () => {
      for (let k = 0; k < 4; k++) {
        const size = fixtureNumbers(fx, `crop_size_${k}`) as [number, number];
        for (const name of ['rgb', 'gray']) {
          for (const mode of ['batched', 'per-sample'] as const) {
            const out = resizedCrop(images(name), boxes(k), size, { method, mode });
            check(`resizedCrop ${method} [${backend}]`, out, `crop_${method}_${k}_${name}`);
          }
        }
      }
    });
  }

  it('resizedCrop folds a per-sample flip into the weights', () => {
    const k = 0;
    const size = fixtureNumbers(fx, `crop_size_${k}`) as [number, number];
    const plain = resizedCrop(images('rgb'), boxes(k), size, { method: 'bicubic' });
    const flipped = resizedCrop(images('rgb'), boxes(k), size, { method: 'bicubic', flip: [1, 0] });
    assertClose(flipped.dataSync(), hflip(plain, [1, 0]).dataSync(), 1e-6, 'folded flip');
  });

  it('hflip of selected samples', () => {
    check(`hflip [${backend}]`, hflip(images('rgb'), fixtureNumbers(fx, 'flip_mask')), 'hflip_rgb');
  });

  const factorOps = {
    brightness: adjustBrightness,
    contrast: adjustContrast,
    saturation: adjustSaturation,
    hue: adjustHue,
  } as const;
  for (const [op, fn] of Object.entries(factorOps)) {
    it(`${op} with per-sample factors (rgb and 1-channel)`, () => {
      const factors = fixtureNumbers(fx, `${op}_factors`);
      const cases = factors.length / 2;
      for (const name of ['rgb', 'gray']) {
        const outs = Array.from({ length: cases }, (_, i) => fn(images(name), factors.slice(2 * i, 2 * i + 2)));
        check(`${op} [${backend}]`, tf.stack(outs), `${op}_${name}`);
      }
    });
  }

  it('rgbToGrayscale with 1 and 3 output channels', () => {
    check(`grayscale [${backend}]`, rgbToGrayscale(images('rgb'), 1), 'grayscale1_rgb');
    check(`grayscale [${backend}]`, rgbToGrayscale(images('rgb'), 3), 'grayscale3_rgb');
    check(`grayscale [${backend}]`, rgbToGrayscale(images('gray'), 3), 'grayscale1_gray');
  });

  it('gaussianBlur with per-sample sigma, reflect padding', () => {
    for (let k = 0; k < 3; k++) {
      const sigmas = fixtureNumbers(fx, `blur_sigmas_${k}`);
      const [ksize] = fixtureNumbers(fx, `blur_ksize_${k}`);
      for (const name of ['rgb', 'gray']) {
        for (const mode of ['batched', 'per-sample'] as const) {
          check(`gaussianBlur [${backend}]`, gaussianBlur(images(name), sigmas, ksize, { mode }), `blur_${k}_${name}`);
        }
      }
    }
  });

  it('solarize at 128/255', () => {
    check(`solarize [${backend}]`, solarize(images('rgb')), 'solarize_rgb');
    check(`solarize [${backend}]`, solarize(images('gray')), 'solarize_gray');
  });

  it('normalize', () => {
    const mean = fixtureNumbers(fx, 'normalize_mean');
    const std = fixtureNumbers(fx, 'normalize_std');
    check(`normalize [${backend}]`, normalize(images('rgb'), mean, std), 'normalize_rgb');
    check(`normalize [${backend}]`, normalize(images('gray'), [0.3], [0.2]), 'normalize_gray');
  });

  it('every op frees its temporaries', () => {
    const x = images('rgb');
    const ops: (() => tf.Tensor)[] = [
      () => resizedCrop(x, boxes(1), 16, { method: 'bicubic', flip: [1, 0], clamp: true }),
      () => hflip(x, [0, 1]),
      () => adjustBrightness(x, [0.5, 1.5]),
      () => adjustContrast(x, [0.5, 1.5]),
      () => adjustSaturation(x, [0.5, 1.5]),
      () => adjustHue(x, [-0.2, 0.3]),
      () => rgbToGrayscale(x, 3),
      () => gaussianBlur(x, [0.5, 1.5], 5),
      () => gaussianBlur(x, [0.5, 1.5], 5, { mode: 'per-sample' }),
      () => resizedCrop(x, boxes(2), [10, 14], { mode: 'per-sample' }),
      () => solarize(x, 0.5, [1, 0]),
      () => normalize(x, [0.5], [0.25]),
    ];
    for (const op of ops) {
      const before = tf.memory().numTensors;
      op().dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
