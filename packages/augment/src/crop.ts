/**
 * One crop of the multi-crop: its recipe (`CropSpec`), the random draw for a batch
 * (`sampleCropParams`) and its application (`applyCropParams`), in the order of the reference's
 * DataAugmentationDINO: RandomResizedCrop -> RandomHorizontalFlip -> RandomApply(ColorJitter) ->
 * RandomGrayscale -> GaussianBlur -> Solarization -> Normalize.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, type Rng } from '@dino-ts/core';
import { checkImages } from './images';
import { resampleMatrix, type Interpolation } from './interpolation';
import { separableMap } from './separable';
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

function checkParams(params: CropParams, batch: number, height: number, width: number): void {
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

/**
 * Renders one crop of every image of `images` [B, H, W, C] (values in [0, 1]) with the drawn
 * `params`: [B, size, size, C], normalised.
 *
 * The resized crop is clamped to [0, 1] before the colour ops: the reference runs on uint8 PIL
 * images, where bicubic overshoot is clamped too. The flip is folded into the resize weights.
 */
export function applyCropParams(images: tf.Tensor4D, params: CropParams, spec: CropSpec): tf.Tensor4D {
  const { batch, height, width, channels } = checkImages(images);
  checkParams(params, batch, height, width);
  checkMeanStd(spec.mean, spec.std, channels);
  const s = spec.size;
  checkBlurKernelSize(spec.blurKernelSize, s, s);
  const cropMaps = params.boxes.map((box, b) => ({
    rows: resampleMatrix(height, box.top, box.height, s, spec.interpolation),
    cols: resampleMatrix(width, box.left, box.width, s, spec.interpolation, params.flip[b] !== 0),
  }));
  const blur = Array.from(params.blurSigma, (sigma) => blurMaps(s, s, spec.blurKernelSize, sigma));
  return tf.tidy(() => {
    let x = tf.clipByValue(separableMap(images, cropMaps, s, s), 0, 1) as tf.Tensor4D;
    if (params.jitter.some((p) => p !== null)) x = colorJitter(x, params.jitter);
    x = grayscaleSamples(x, params.grayscale);
    if (blur.some((m) => m !== null)) x = separableMap(x, blur, s, s);
    x = solarize(x, spec.solarizeThreshold, params.solarize);
    return normalize(x, spec.mean, spec.std);
  });
}
