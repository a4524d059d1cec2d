/** Bad inputs to the standalone ops throw errors naming the parameter. */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ConfigError, ShapeError } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { resizedCrop } from './resized-crop';
import { adjustBrightness, adjustContrast } from './adjust';
import { adjustHue } from './hue';
import { gaussianBlur } from './blur';
import { solarize } from './solarize';
import { normalize } from './normalize';
import { separableMap } from './separable';
import { rgbToGrayscale } from './grayscale';

function paramOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.param;
    throw e;
  }
  throw new Error('no error thrown');
}

describeBackends(
  'standalone op errors',
  () => {
    const x = () => tf.zeros([2, 10, 12, 3]) as tf.Tensor4D;
    const box = { top: 0, left: 0, height: 5, width: 5 };

    it('reject boxes outside the image, non-integer sizes and unknown methods', () => {
      expect(paramOf(() => resizedCrop(x(), [box, { ...box, top: 6 }], 4))).toBe('boxes[1].top');
      expect(paramOf(() => resizedCrop(x(), [box, { ...box, width: 13 }], 4))).toBe('boxes[1].width');
      expect(paramOf(() => resizedCrop(x(), [box, box], 0))).toBe('size');
      expect(paramOf(() => resizedCrop(x(), [box], 4))).toBe('boxes');
      expect(paramOf(() => resizedCrop(x(), [box, box], 4, { method: 'area' as 'bilinear' }))).toBe('method');
    });

    it('reject out-of-range factors, sigmas, kernel sizes, thresholds and mean/std', () => {
      expect(paramOf(() => adjustBrightness(x(), [1, -0.5]))).toBe('brightness factors[1]');
      expect(paramOf(() => adjustContrast(x(), NaN))).toBe('contrast factors[0]');
      expect(paramOf(() => adjustHue(x(), [0.6, 0]))).toBe('hue factors[0]');
      expect(paramOf(() => gaussianBlur(x(), [1, 0], 3))).toBe('sigmas[1]');
      expect(paramOf(() => gaussianBlur(x(), 1, 4))).toBe('kernelSize');
      expect(paramOf(() => gaussianBlur(x(), 1, 21))).toBe('kernelSize');
      expect(paramOf(() => solarize(x(), 1.5))).toBe('threshold');
      expect(paramOf(() => normalize(x(), [0.5, 0.5], [0.2]))).toBe('mean');
      expect(paramOf(() => normalize(x(), [0.5], [0]))).toBe('std');
      expect(paramOf(() => rgbToGrayscale(x(), 2 as 1))).toBe('numOutputChannels');
    });

    it('reject images that are not NHWC float32 with 1 or 3 channels, and per-sample lists of the wrong length', () => {
      expect(paramOf(() => adjustBrightness(tf.zeros([1, 4, 4, 4]) as tf.Tensor4D, 1))).toBe('images channels');
      expect(() => adjustBrightness(tf.zeros([4, 4, 3]) as unknown as tf.Tensor4D, 1)).toThrow(ShapeError);
      expect(() => adjustBrightness(tf.zeros([1, 4, 4, 3], 'int32') as tf.Tensor4D, 1)).toThrow(ShapeError);
      expect(() => adjustBrightness(x(), [1, 1, 1])).toThrow(ShapeError);
      expect(() => adjustBrightness(x(), tf.ones([3]) as tf.Tensor1D)).toThrow(ShapeError);
    });

    it('separableMap: a null map copies the sample, never hands back the input', () => {
      const one = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
      for (const mode of ['batched', 'per-sample'] as const) {
        const out = separableMap(one, [null], 4, 4, mode);
        expect(out).not.toBe(one);
        expect(Array.from(out.dataSync())).toEqual(Array.from(one.dataSync()));
        out.dispose();
        expect(one.isDisposed).toBe(false);
      }
      expect(() => separableMap(one, [null], 3, 4)).toThrow(ShapeError);
    });
  },
  ['cpu'],
);
