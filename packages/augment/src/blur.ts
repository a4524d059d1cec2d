/**
 * Gaussian blur with one sigma per sample: torchvision 0.14 `F.gaussian_blur` on tensors (the
 * same square kernel size for the batch, reflect padding).
 *
 * The reference's utils.GaussianBlur blurs PIL images with ImageFilter.GaussianBlur(radius=sigma),
 * whose support is about 3 sigma; on tensors the kernel size must be given, and
 * `blurKernelSize(sigmaMax)` = 2·ceil(3·sigmaMax) + 1 covers ±3 sigma of the largest sigma drawn.
 * The blur is linear and separable, so each sample is two banded matrices with the reflect
 * padding folded in (see separable.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkInt, ConfigError } from '@dino-ts/core';
import { checkImages, perSampleValues, type PerSample } from './images';
import { separableMap, type MapMode, type SeparableMaps } from './separable';

/** Odd kernel size covering ±3 sigma: 2·ceil(3·sigmaMax) + 1 (13 for sigma 2). */
export function blurKernelSize(sigmaMax: number): number {
  return 2 * Math.ceil(3 * sigmaMax) + 1;
}

/** torchvision's `_get_gaussian_kernel1d`: exp(−x²/2σ²) on x = −(k−1)/2 … (k−1)/2, normalised. */
export function gaussianKernel1d(kernelSize: number, sigma: number): Float64Array {
  const half = (kernelSize - 1) / 2;
  const k = new Float64Array(kernelSize);
  let sum = 0;
  for (let i = 0; i < kernelSize; i++) {
    const x = (i - half) / sigma;
    k[i] = Math.exp(-0.5 * x * x);
    sum += k[i];
  }
  for (let i = 0; i < kernelSize; i++) k[i] /= sum;
  return k;
}

/** Index into [0, n) with reflect padding (edge not repeated), as torch.nn.functional.pad 'reflect'. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** The blur of one axis of length n as an [n, n] matrix (row-major), reflect padding folded in. */
export function blurMatrix(n: number, kernel: ArrayLike<number>): Float32Array {
  const m = new Float32Array(n * n);
  const half = (kernel.length - 1) / 2;
  for (let o = 0; o < n; o++) {
    for (let t = 0; t < kernel.length; t++) m[o * n + reflect(o + t - half, n)] += kernel[t];
  }
  return m;
}

/** Checks an odd kernel size whose padding (k // 2) fits inside the image, as reflect padding needs. */
export function checkBlurKernelSize(kernelSize: number, height: number, width: number): void {
  checkInt('kernelSize', kernelSize, 1);
  if (kernelSize % 2 !== 1) throw new ConfigError('kernelSize', kernelSize, 'must be odd');
  const pad = (kernelSize - 1) / 2;
  if (pad >= Math.min(height, width)) {
    throw new ConfigError(
      'kernelSize',
      kernelSize,
      `must leave its padding ${pad} below the image side ${Math.min(height, width)} (reflect padding)`,
    );
  }
}

/**
 * Separable blur maps for one sample (sigma > 0), or null for sigma <= 0 (no blur): what the
 * multi-crop pipeline passes for samples its random blur skips.
 */
export function blurMaps(height: number, width: number, kernelSize: number, sigma: number): SeparableMaps | null {
  if (!(sigma > 0)) return null;
  const kernel = gaussianKernel1d(kernelSize, sigma);
  return { rows: blurMatrix(height, kernel), cols: blurMatrix(width, kernel) };
}

/**
 * Blurs sample b of `images` [B, H, W, C] with a Gaussian of standard deviation `sigmas[b]` (> 0)
 * and an odd `kernelSize` x `kernelSize` kernel: `F.gaussian_blur(img, [k, k], [s, s])`.
 *
 * ```ts
 * const out = gaussianBlur(images, [0.7, 1.6], blurKernelSize(1.6));
 * ```
 */
export function gaussianBlur(
  images: tf.Tensor4D,
  sigmas: PerSample,
  kernelSize: number,
  options: { mode?: MapMode } = {},
): tf.Tensor4D {
  const { batch, height, width } = checkImages(images);
  const s = perSampleValues('sigmas', sigmas, batch, (v) => v > 0, 'a number > 0');
  checkBlurKernelSize(kernelSize, height, width);
  const maps = Array.from(s, (sigma) => blurMaps(height, width, kernelSize, sigma));
  return separableMap(images, maps, height, width, options.mode);
}
