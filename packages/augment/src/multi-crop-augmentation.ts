/**
 * DINO's multi-crop augmentation (DataAugmentationDINO in the reference's main_dino.py) on image
 * batches: 2 global crops and `localCropsNumber` local crops per image, every random choice drawn
 * per sample from a seeded Rng, every crop rendered for the whole batch at once.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ShapeError, type Rng } from '@dino-ts/core';
import { checkImages } from './images';
import { checkMeanStd } from './normalize';
import { blurKernelSize } from './blur';
import {
  checkCropParams,
  checkSpec,
  cropMode,
  renderCrop,
  sampleCropParams,
  type ApplyCropOptions,
  type CropParams,
  type CropSpec,
} from './crop-params';
import { splitSamples } from './separable';
import { resolveDinoAugmentConfig, type DinoAugmentConfig, type DinoAugmentOptions } from './dino-augment-config';

/** Crop kinds in output order: global 1, global 2, then the local crops. */
export type CropKind = 'global1' | 'global2' | 'local';

function cropSpec(c: DinoAugmentConfig, kind: CropKind): CropSpec {
  const size = kind === 'local' ? c.localCropsSize : c.globalCropsSize;
  const k = c.blur.kernelSize === 'auto' ? blurKernelSize(c.blur.sigma[1]) : c.blur.kernelSize;
  return {
    size,
    scale: kind === 'local' ? c.localCropsScale : c.globalCropsScale,
    ratio: c.ratio,
    interpolation: c.interpolation,
    flipP: c.flipP,
    jitter: c.jitter,
    grayscaleP: c.grayscaleP,
    blurP: kind === 'global1' ? c.blur.global1P : kind === 'global2' ? c.blur.global2P : c.blur.localP,
    blurSigma: c.blur.sigma,
    // Reflect padding needs (k - 1) / 2 < size: the largest such odd k is 2·size − 1.
    blurKernelSize: Math.min(k, 2 * size - 1),
    solarizeP: kind === 'global2' ? c.solarizeP : 0,
    solarizeThreshold: c.solarizeThreshold,
    mean: c.mean,
    std: c.std,
  };
}

/**
 * The multi-crop augmentation. `apply` returns 2 global crops then the local crops, each
 * [B, size, size, C] and normalised, from images [B, H, W, C] in [0, 1] (C = 1 or 3; on 1-channel
 * images saturation, hue and grayscale are the identity, as torchvision).
 *
 * ```ts
 * import { Rng } from '@dino-ts/core';
 * const aug = createDinoAugmentation({ globalCropsSize: 32, localCropsSize: 16, localCropsNumber: 6 });
 * const crops = aug.apply(images, new Rng(0)); // 8 tensors: 2 x [B,32,32,3], 6 x [B,16,16,3]
 * ```
 */
export class MultiCropAugmentation {
  readonly config: DinoAugmentConfig;
  /** The recipe of each output crop, in output order. */
  readonly crops: readonly CropSpec[];

  constructor(options: DinoAugmentOptions = {}) {
    this.config = resolveDinoAugmentConfig(options);
    const kinds: CropKind[] = ['global1', 'global2', ...Array<CropKind>(this.config.localCropsNumber).fill('local')];
    this.crops = kinds.map((kind) => cropSpec(this.config, kind));
  }

  /** 2 + localCropsNumber. */
  get numCrops(): number {
    return this.crops.length;
  }

  /** Draws every crop's parameters for a batch (host only; no tensors). */
  sample(rng: Rng, batch: number, height: number, width: number): CropParams[] {
    return this.crops.map((spec) => sampleCropParams(rng, batch, height, width, spec));
  }

  /** Renders the crops drawn by `sample`. */
  applyParams(images: tf.Tensor4D, params: readonly CropParams[], options: ApplyCropOptions = {}): tf.Tensor4D[] {
    const { batch, height, width, channels } = checkImages(images);
    if (params.length !== this.crops.length) {
      throw new ShapeError(`params must hold one entry per crop (${this.crops.length}); got ${params.length}`);
    }
    this.crops.forEach((spec) => checkSpec(spec, channels));
    params.forEach((p) => checkCropParams(p, batch, height, width));
    const modes = this.crops.map((spec) => cropMode(spec, height, width, channels, options.mode));
    // Per-sample crops all start from the same samples: split the batch once.
    const samples = batch > 1 && modes.includes('per-sample') ? splitSamples(images) : null;
    const out: tf.Tensor4D[] = [];
    try {
      this.crops.forEach((spec, i) => out.push(renderCrop(images, samples, params[i], spec, modes[i])));
    } catch (e) {
      out.forEach((t) => t.dispose());
      throw e;
    } finally {
      samples?.forEach((t) => t.dispose());
    }
    return out;
  }

  /** Draws and renders every crop: [global1, global2, local1, ...]. Same seed, same crops. */
  apply(images: tf.Tensor4D, rng: Rng, options: ApplyCropOptions = {}): tf.Tensor4D[] {
    const { batch, height, width, channels } = checkImages(images);
    checkMeanStd(this.config.mean, this.config.std, channels);
    return this.applyParams(images, this.sample(rng, batch, height, width), options);
  }
}

/** The reference's multi-crop augmentation with `options` over its defaults. */
export function createDinoAugmentation(options: DinoAugmentOptions = {}): MultiCropAugmentation {
  return new MultiCropAugmentation(options);
}
