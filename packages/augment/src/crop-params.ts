/**
 * One crop of the multi-crop: its recipe (`CropSpec`), the random draw for a batch
 * (`sampleCropParams`) and its application (`applyCropParams`), in the order of the reference's
 * DataAugmentationDINO: RandomResizedCrop -> RandomHorizontalFlip -> RandomApply(ColorJitter) ->
 * RandomGrayscale -> GaussianBlur -> Solarization -> Normalize.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkChoice, checkInt, ShapeError, type Rng } from '@dino-ts/core';
import { checkImages } from './images';
import { INTERPOLATIONS, resampleMatrix, type Interpolation } from './interpolation';
import { resolveMapMode, separableMap, splitSamples, type MapMode } from './separable';
import { checkCropBox, type CropBox } from './resized-crop';
import { colorJitter } from './color-jitter';
import { grayscaleSamples } from './grayscale';
import { blurMaps, checkBlurKernelSize } from './blur';
import { solarize } from './solarize';
import { checkMeanStd, normalize } from './normalize';
import { sampleColorJitter, sampleResizedCropBox, type ColorJitterParams, type JitterStrength } from './sampling';

/** Everything that defines one crop kind (global 1, global 2, local). */
export interface CropSpec {
  /** Output side in pixels. */
  size: number;
  /** Area fraction range of RandomResizedCrop. */
  scale: [number, number];
  /** Aspect-ratio (w / h) range of RandomResizedCrop. */
  ratio: [number, number];
  interpolation: Interpolation;
  flipP: number;
  /** ColorJitter strengths and the probability it is applied at all. */
  jitter: JitterStrength & { p: number };
  grayscaleP: number;
  blurP: number;
  /** Blur sigma range in output pixels. */
  blurSigma: [number, number];
  /** Odd blur kernel size, its padding below `size`. */
  blurKernelSize: number;
  solarizeP: number;
  solarizeThreshold: number;
  mean: readonly number[];
  std: readonly number[];
}

/** One crop's random draw for a batch, one entry per sample. */
export interface CropParams {
  boxes: CropBox[];
  flip: Uint8Array;
  /** ColorJitter draw per sample; null where RandomApply skipped it. */
  jitter: (ColorJitterParams | null)[];
  grayscale: Uint8Array;
  /** Blur sigma per sample; 0 where the blur is skipped. */
  blurSigma: Float32Array;
  solarize: Uint8Array;
}

/**
 * Draws one crop's parameters for `batch` images of `height` x `width`, sample by sample, each in
 * the order the reference's transforms draw them.
 */
export function sampleCropParams(rng: Rng, batch: number, height: number, width: number, spec: CropSpec): CropParams {
  const params: CropParams = {
    boxes: [],
    flip: new Uint8Array(batch),
    jitter: [],
    grayscale: new Uint8Array(batch),
    blurSigma: new Float32Array(batch),
    solarize: new Uint8Array(batch),
  };
  for (let b = 0; b < batch; b++) {
    params.boxes.push(sampleResizedCropBox(rng, height, width, spec.scale, spec.ratio));
    params.flip[b] = rng.bernoulli(spec.flipP) ? 1 : 0;
    params.jitter.push(rng.bernoulli(spec.jitter.p) ? sampleColorJitter(rng, spec.jitter) : null);
    params.grayscale[b] = rng.bernoulli(spec.grayscaleP) ? 1 : 0;
    params.blurSigma[b] = rng.bernoulli(spec.blurP) ? rng.uniform(spec.blurSigma[0], spec.blurSigma[1]) : 0;
    params.solarize[b] = rng.bernoulli(spec.solarizeP) ? 1 : 0;
  }
  return params;
}

/** Throws unless `params` holds one entry per sample and every box fits an H x W image. */
export function checkCropParams(params: CropParams, batch: number, height: number, width: number): void {
  const lengths: [string, number][] = [
    ['boxes', params.boxes.length],
    ['flip', params.flip.length],
    ['jitter', params.jitter.length],
    ['grayscale', params.grayscale.length],
    ['blurSigma', params.blurSigma.length],
    ['solarize', params.solarize.length],
  ];
  for (const [name, n] of lengths) {
    if (n !== batch) throw new ShapeError(`params.${name} must have ${batch} entries (one per sample); got ${n}`);
  }
  params.boxes.forEach((box, b) => checkCropBox(`params.boxes[${b}]`, box, height, width));
}

/** Sample b's parameters as a batch of one. */
function sampleParams(p: CropParams, b: number): CropParams {
  return {
    boxes: [p.boxes[b]],
    flip: p.flip.subarray(b, b + 1),
    jitter: [p.jitter[b]],
    grayscale: p.grayscale.subarray(b, b + 1),
    blurSigma: p.blurSigma.subarray(b, b + 1),
    solarize: p.solarize.subarray(b, b + 1),
  };
}

/** The whole chain on a batch, every step one batched op (masks and factors per sample). */
function renderBatch(images: tf.Tensor4D, params: CropParams, spec: CropSpec): tf.Tensor4D {
  const [, height, width] = images.shape;
  const s = spec.size;
  const cropMaps = params.boxes.map((box, b) => ({
    rows: resampleMatrix(height, box.top, box.height, s, spec.interpolation),
    cols: resampleMatrix(width, box.left, box.width, s, spec.interpolation, params.flip[b] !== 0),
  }));
  const blur = Array.from(params.blurSigma, (sigma) => blurMaps(s, s, spec.blurKernelSize, sigma));
  return tf.tidy(() => {
    let x = tf.clipByValue(separableMap(images, cropMaps, s, s, 'batched'), 0, 1) as tf.Tensor4D;
    if (params.jitter.some((p) => p !== null)) x = colorJitter(x, params.jitter);
    x = grayscaleSamples(x, params.grayscale);
    if (blur.some((m) => m !== null)) x = separableMap(x, blur, s, s, 'batched');
    x = solarize(x, spec.solarizeThreshold, params.solarize);
    return normalize(x, spec.mean, spec.std);
  });
}

export interface ApplyCropOptions {
  /**
   * 'batched' renders the batch with batched ops; 'per-sample' renders each sample on its own
   * (each op runs only where the sample needs it, and matMuls are single). 'auto' (default) picks
   * per-sample for large crops, where stock wasm's batched matMul and the colour jitter's
   * per-step passes over the whole batch cost most (see separable.ts). Results are equal.
   */
  mode?: MapMode;
}

/**
 * The mode 'auto' picks for a crop of `spec` from H x W x C images.
 * @internal
 */
export function cropMode(spec: CropSpec, height: number, width: number, channels: number, mode: MapMode = 'auto') {
  return resolveMapMode(mode, spec.size, height, width, channels);
}

/**
 * Renders one crop from the batch or from its samples already split ([1, H, W, C] each, for
 * callers that render several crops of the same images per sample).
 * @internal
 */
export function renderCrop(
  images: tf.Tensor4D,
  samples: tf.Tensor4D[] | null,
  params: CropParams,
  spec: CropSpec,
  mode: 'batched' | 'per-sample',
): tf.Tensor4D {
  if (mode === 'batched') return renderBatch(images, params, spec);
  return tf.tidy(() => {
    const parts = samples ?? splitSamples(images);
    return tf.concat(parts.map((x, b) => renderBatch(x, sampleParams(params, b), spec))) as tf.Tensor4D;
  });
}

/**
 * Renders one crop of every image of `images` [B, H, W, C] (values in [0, 1]) with the drawn
 * `params`: [B, size, size, C], normalised.
 *
 * The resized crop is clamped to [0, 1] before the colour ops: the reference runs on uint8 PIL
 * images, where bicubic overshoot is clamped too. The flip is folded into the resize weights.
 */
export function applyCropParams(
  images: tf.Tensor4D,
  params: CropParams,
  spec: CropSpec,
  options: ApplyCropOptions = {},
): tf.Tensor4D {
  const { batch, height, width, channels } = checkImages(images);
  checkCropParams(params, batch, height, width);
  checkSpec(spec, channels);
  return renderCrop(images, null, params, spec, cropMode(spec, height, width, channels, options.mode));
}

/** Checks the parts of a spec the rendering uses. */
export function checkSpec(spec: CropSpec, channels: number): void {
  checkInt('spec.size', spec.size, 1);
  checkChoice('spec.interpolation', spec.interpolation, INTERPOLATIONS);
  checkMeanStd(spec.mean, spec.std, channels);
  checkBlurKernelSize(spec.blurKernelSize, spec.size, spec.size);
}
