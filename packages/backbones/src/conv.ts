/**
 * 2-D convolution as im2col + matMul, built only from ops whose gradients run on the wasm backend
 * (pad, slice, reshape, transpose, concat, matMul). tfjs's conv2d cannot train there: the wasm
 * backend has no Conv2DBackpropFilter.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Module, Rng, checkInt, variable } from '@dino-ts/core';

/** Output size of a convolution or pooling window (PyTorch, floor mode). */
export function convOutSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/**
 * The stride x stride polyphase components of a zero-padded image: phase (py, px) holds the pixels
 * at rows py, py + s, ... and columns px, px + s, .... Tap (ky, kx) of a stride-s convolution is
 * then a plain window of phase (ky % s, kx % s) at offset (ky / s, kx / s), so each pixel is
 * sliced about once instead of once per tap (slicing is the costly op on the cpu backend).
 * Built from reshape, transpose and slice: there is no StridedSlice gradient in tfjs.
 */
function phases(xp: tf.Tensor4D, stride: number): (py: number, px: number) => tf.Tensor4D {
  const [b, hp, wp, c] = xp.shape;
  const hs = hp / stride;
  const ws = wp / stride;
  // [B*hs, s, ws, s*C] -> [s (py), B*hs, ws, s*C (px, c)]
  const byRow = tf.transpose(tf.reshape(xp, [b * hs, stride, ws, stride * c]), [1, 0, 2, 3]);
  const cache = new Map<number, tf.Tensor4D>();
  return (py, px) => {
    const key = py * stride + px;
    let ph = cache.get(key);
    if (!ph) {
      ph = tf.reshape(tf.slice(byRow, [py, 0, 0, px * c], [1, b * hs, ws, c]), [b, hs, ws, c]);
      cache.set(key, ph);
    }
    return ph;
  };
}

/**
 * PyTorch `F.conv2d(x, weight, stride, padding)` (no bias, no dilation, no groups) on NHWC input.
 *
 * @param x [B, H, W, C]
 * @param weight [O, C, k, k] (PyTorch layout)
 * @returns [B, Ho, Wo, O]
 */
export function conv2d(x: tf.Tensor4D, weight: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const [o, , k] = weight.shape;
  const oh = convOutSize(h, k, stride, pad);
  const ow = convOutSize(w, k, stride, pad);
  let cols: tf.Tensor4D;
  if (stride === 1) {
    const xp = pad ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    const taps: tf.Tensor4D[] = [];
    for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) taps.push(tf.slice(xp, [0, ky, kx, 0], [b, oh, ow, c]));
    cols = taps.length === 1 ? taps[0]! : tf.concat(taps, 3); // features ordered (ky, kx, c)
  } else {
    // Pad (with extra zeros after the image, never selected) to multiples of the stride large
    // enough for the farthest tap's window.
    const reach = Math.floor((k - 1) / stride);
    const hp = stride * Math.max(Math.ceil((h + 2 * pad) / stride), reach + oh);
    const wp = stride * Math.max(Math.ceil((w + 2 * pad) / stride), reach + ow);
    const xp = tf.pad(x, [[0, 0], [pad, hp - h - pad], [pad, wp - w - pad], [0, 0]]);
    const phase = phases(xp, stride);
    const taps: tf.Tensor4D[] = [];
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++) {
        const src = phase(ky % stride, kx % stride);
        taps.push(tf.slice(src, [0, Math.floor(ky / stride), Math.floor(kx / stride), 0], [b, oh, ow, c]));
      }
    }
    cols = taps.length === 1 ? taps[0]! : tf.concat(taps, 3);
  }
  const kernel = tf.reshape(tf.transpose(weight, [2, 3, 1, 0]), [k * k * c, o]) as tf.Tensor2D;
  const y = tf.matMul(tf.reshape(cols, [b * oh * ow, k * k * c]) as tf.Tensor2D, kernel);
  return tf.reshape(y, [b, oh, ow, o]);
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  /** With a bias (PyTorch's default is true; torchvision's ResNet convolutions have none). Default false. */
  bias?: boolean;
  /**
   * Weight initialisation, drawn from `rng` in element order:
   * - 'default': PyTorch's nn.Conv2d default, kaiming_uniform(a = sqrt(5)), i.e. weight and
   *   bias ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (what the reference leaves a ViT's patch conv at);
   * - 'kaimingNormalFanOut': torchvision's ResNet init, kaiming_normal(mode='fan_out',
   *   nonlinearity='relu'): std = sqrt(2 / (out * k * k)); the bias (if any) zero.
   */
  init?: 'default' | 'kaimingNormalFanOut';
  /** The model's initialisation generator. Default: a generator seeded 0. */
  rng?: Rng;
}

/**
 * `nn.Conv2d` (square kernel, no dilation, no groups) on NHWC input, with PyTorch's parameter
 * names and layout: `weight` [out, in, k, k], `bias` [out].
 */
export class Conv2d extends Module {
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias?: tf.Variable<tf.Rank.R1>;
  readonly stride: number;
  readonly padding: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: Conv2dOptions = {},
  ) {
    super();
    const { stride = 1, padding = 0, bias = false, init = 'default', rng = new Rng(0) } = opts;
    checkInt('inChannels', inChannels, 1);
    checkInt('outChannels', outChannels, 1);
    checkInt('kernelSize', kernelSize, 1);
    checkInt('stride', stride, 1);
    checkInt('padding', padding, 0);
    this.stride = stride;
    this.padding = padding;
    const k = kernelSize;
    const n = outChannels * inChannels * k * k;
    let w: Float32Array;
    let b: Float32Array | undefined;
    if (init === 'kaimingNormalFanOut') {
      const std = Math.sqrt(2 / (outChannels * k * k));
      w = Float32Array.from({ length: n }, () => rng.normal(0, std));
      if (bias) b = new Float32Array(outChannels);
    } else {
      const bound = 1 / Math.sqrt(inChannels * k * k);
      w = Float32Array.from({ length: n }, () => rng.uniform(-bound, bound));
      if (bias) b = Float32Array.from({ length: outChannels }, () => rng.uniform(-bound, bound));
    }
    this.weight = this.registerParameter(
      'weight',
      tf.tidy(() => variable('conv.weight', tf.tensor4d(w, [outChannels, inChannels, k, k]))) as tf.Variable<tf.Rank.R4>,
    );
    if (b) this.bias = this.registerParameter('bias', tf.tidy(() => variable('conv.bias', tf.tensor1d(b!))) as tf.Variable<tf.Rank.R1>);
  }

  /** [B, H, W, inChannels] -> [B, Ho, Wo, outChannels]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = conv2d(x, this.weight, this.stride, this.padding);
      return this.bias ? (tf.add(y, this.bias) as tf.Tensor4D) : y;
    });
  }
}
