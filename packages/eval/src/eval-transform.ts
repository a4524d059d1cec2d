/**
 * The reference's evaluation transform for a picture of any size (eval_knn.py, eval_linear.py):
 * resize the short side to 256/224 of the model's input size (bicubic), centre-crop the input
 * size, normalise with the ImageNet mean and std. Takes RGBA or RGB pixels as a page or a decoder
 * gives them (`ImageData`, sharp's raw output), so a browser and Node preprocess alike.
 *
 * The resize is torchvision's on tensors (bicubic without antialiasing, augment's `resizedCrop`);
 * the reference decodes with PIL, whose bicubic downscaling antialiases, so large downscales
 * differ slightly from the reference's pixels (the features barely).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, checkChoice, checkInt } from '@dino-ts/core';
import { IMAGENET_MEAN, IMAGENET_STD, resizedCrop } from '@dino-ts/augment';

/** How a picture that is not the input size becomes one. */
export const RESIZE_MODES = ['short-side', 'squash', 'none'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

/** Pixels as `ImageData` holds them (RGBA) or as decoders give them (`channels` 1, 3 or 4). */
export interface PixelImage {
  data: ArrayLike<number>;
  width: number;
  height: number;
  /** Values per pixel; default 4 (RGBA, alpha ignored). */
  channels?: number;
}

export interface EvalTransformOptions {
  /** The model's input size (square, or [height, width]). */
  size: number | readonly [number, number];
  /**
   * 'short-side' (default): the short side to `ratio` times the input size, then a centre crop;
   * 'squash': straight to the input size, whatever the aspect ratio; 'none': a centre crop only
   * (the picture must be at least the input size).
   */
  resize?: ResizeMode;
  /** Resize ratio of 'short-side' (the reference: 256 / 224). */
  ratio?: number;
  /** Per-channel normalisation (default ImageNet's); `null` keeps values in [0, 1]. */
  mean?: readonly number[] | null;
  std?: readonly number[] | null;
}

export const EVAL_TRANSFORM_DEFAULTS = { resize: 'short-side' as ResizeMode, ratio: 256 / 224 };

/**
 * Centre crop offset as torchvision's CenterCrop computes it, int(round((in - out) / 2)) with
 * Python's round, which takes halves to the even side (2.5 -> 2, not Math.round's 3).
 */
function centreOffset(inSize: number, outSize: number): number {
  const x = (inSize - outSize) / 2;
  const f = Math.floor(x);
  return x - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(x);
}

/**
 * One picture through the evaluation transform: an RGB [H, W, 3] float32 tensor of the input
 * size, normalised. The caller disposes it.
 *
 * @example
 * const x = evalTransform(imageData, { size: 224 });               // a canvas' ImageData
 * const batch = tf.stack(pictures.map((p) => evalTransform(p, { size: 224 })));
 */
export function evalTransform(image: PixelImage, opts: EvalTransformOptions): tf.Tensor3D {
  const [outH, outW] = typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  checkInt('size', outH, 1);
  checkInt('size', outW, 1);
  const resize = opts.resize ?? EVAL_TRANSFORM_DEFAULTS.resize;
  checkChoice('resize', resize, RESIZE_MODES);
  const ratio = opts.ratio ?? EVAL_TRANSFORM_DEFAULTS.ratio;
  const { width, height } = image;
  checkInt('image.width', width, 1);
  checkInt('image.height', height, 1);
  const ch = image.channels ?? 4;
  if (![1, 3, 4].includes(ch)) throw new ConfigError('image.channels', ch, 'must be 1 (grey), 3 (RGB) or 4 (RGBA)');
  if (image.data.length !== width * height * ch) {
    throw new ConfigError('image.data', `${image.data.length} values`, `must hold ${width} x ${height} x ${ch} values`);
  }
  const mean = opts.mean === null ? null : (opts.mean ?? IMAGENET_MEAN);
  const std = opts.std === null ? null : (opts.std ?? IMAGENET_STD);
  if ((mean && mean.length !== 3) || (std && std.length !== 3) || (std && std.some((s) => !(s > 0)))) {
    throw new ConfigError('mean/std', `${mean?.length ?? 0}/${std?.length ?? 0} values`, 'must be 3 values each, std > 0 (RGB)');
  }
  // RGB in [0, 1]: drop alpha, repeat grey.
  const rgb = new Float32Array(width * height * 3);
  const scale = image.data instanceof Float32Array ? 1 : 1 / 255;
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = image.data[i * ch + (ch === 1 ? 0 : c)] * scale;
  }
  return tf.tidy(() => {
    const x = tf.tensor4d(rgb, [1, height, width, 3]);
    let resized: tf.Tensor4D = x;
    if (height !== outH || width !== outW) {
      if (resize === 'squash') {
        resized = resizedCrop(x, [{ top: 0, left: 0, height, width }], [outH, outW], { method: 'bicubic' });
      } else if (resize === 'short-side') {
        // torchvision Resize(int): the short side to the target, the long one scaled and floored.
        const short = Math.round(Math.min(outH, outW) * ratio);
        const [rh, rw] = height <= width ? [short, Math.floor((short * width) / height)] : [Math.floor((short * height) / width), short];
        if (rh < outH || rw < outW) throw new ConfigError('ratio', ratio, `must leave the resized picture (${rh}x${rw}) at least the input size`);
        resized = resizedCrop(x, [{ top: 0, left: 0, height, width }], [rh, rw], { method: 'bicubic' });
      } else if (height < outH || width < outW) {
        throw new ConfigError('resize', 'none', `needs pictures at least ${outH}x${outW}; this one is ${height}x${width} (use 'short-side' or 'squash')`);
      }
    }
    const [, rh, rw] = resized.shape;
    let out: tf.Tensor = tf.slice(resized, [0, centreOffset(rh, outH), centreOffset(rw, outW), 0], [1, outH, outW, 3]);
    if (mean && std) out = tf.div(tf.sub(out, tf.tensor1d([...mean])), tf.tensor1d([...std]));
    return tf.reshape(out, [outH, outW, 3]) as tf.Tensor3D;
  });
}
