/**
 * Crop a box from each image and resize it: torchvision 0.14 `F.resized_crop` on float tensors,
 * with one box per sample, in one call for the whole batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkChoice, checkInt, ConfigError } from '@dino-ts/core';
import { checkImages, maskValues, type SampleMask } from './images';
import { INTERPOLATIONS, resampleMatrix, type Interpolation } from './interpolation';
import { separableMap, type MapMode, type SeparableMaps } from './separable';

/** A crop box in pixels, as torchvision's (top, left, height, width). */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface ResizedCropOptions {
  /** 'bicubic' (DINO's choice) or 'bilinear'. Default 'bilinear', as torchvision. */
  method?: Interpolation;
  /** Flip these samples horizontally after resizing (folded into the weights, so free). */
  flip?: SampleMask;
  /**
   * Clamp the result to [0, 1]. torchvision leaves float results unclamped (bicubic can
   * overshoot); the DINO reference works on uint8 PIL images, which are clamped. Default false.
   */
  clamp?: boolean;
  /** How the per-sample matrices run (see separable.ts); 'auto' by default. */
  mode?: MapMode;
}

/** Throws a ConfigError unless `box` is an integer box of at least 1 x 1 inside an H x W image. */
export function checkCropBox(param: string, box: CropBox, height: number, width: number): void {
  checkInt(`${param}.height`, box.height, 1, height);
  checkInt(`${param}.width`, box.width, 1, width);
  checkInt(`${param}.top`, box.top, 0, height - box.height);
  checkInt(`${param}.left`, box.left, 0, width - box.width);
}

/** Output size as [height, width]; a number means a square. */
export function outputSize(size: number | readonly [number, number]): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  checkInt('size', h, 1);
  checkInt('size', w, 1);
  return [h, w];
}

/**
 * Crops `boxes[b]` from sample b of `images` [B, H, W, C] and resizes it to `size`, giving
 * [B, outH, outW, C]. Equal to torchvision 0.14 `F.resized_crop(img, top, left, height, width,
 * size, interpolation)` on a float tensor (antialias off); differentiable in `images`.
 *
 * ```ts
 * const out = resizedCrop(images, [{ top: 2, left: 3, height: 15, width: 18 }], 8, { method: 'bicubic' });
 * ```
 */
export function resizedCrop(
  images: tf.Tensor4D,
  boxes: readonly CropBox[],
  size: number | readonly [number, number],
  options: ResizedCropOptions = {},
): tf.Tensor4D {
  const { batch, height, width } = checkImages(images);
  const [outH, outW] = outputSize(size);
  const method = options.method ?? 'bilinear';
  checkChoice('method', method, INTERPOLATIONS);
  if (boxes.length !== batch) {
    throw new ConfigError('boxes', `${boxes.length} boxes`, `must hold one box per sample (${batch})`);
  }
  const flip = options.flip === undefined ? new Uint8Array(batch) : maskValues('flip', options.flip, batch);
  const maps: SeparableMaps[] = boxes.map((box, b) => {
    checkCropBox(`boxes[${b}]`, box, height, width);
    return {
      rows: resampleMatrix(height, box.top, box.height, outH, method),
      cols: resampleMatrix(width, box.left, box.width, outW, method, flip[b] !== 0),
    };
  });
  return tf.tidy(() => {
    const out = separableMap(images, maps, outH, outW, options.mode);
    return options.clamp ? tf.clipByValue(out, 0, 1) : out;
  });
}
