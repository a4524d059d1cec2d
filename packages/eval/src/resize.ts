/**
 * The two resamplings of the video protocol, reproduced bit for bit: Pillow's nearest resize of
 * label maps (read_seg and the output resize of eval_video_segmentation.py) and PyTorch's
 * bilinear upsampling (F.interpolate(mode='bilinear', align_corners=False)).
 */
import { ShapeError, checkInt } from '@dino-ts/core';
import type { Map2D } from './davis';

/**
 * Source index of every output pixel of Pillow's NEAREST resize (Pillow 9, ImagingScaleAffine):
 * the position starts at scale / 2 and grows by scale = in / out per pixel in double precision,
 * then is truncated; accumulating (rather than (x + 0.5) * scale) decides the exact-half cases.
 */
export function pilNearestIndices(inSize: number, outSize: number): Int32Array {
  const scale = inSize / outSize;
  const out = new Int32Array(outSize);
  let pos = scale * 0.5;
  for (let x = 0; x < outSize; x++) {
    out[x] = Math.min(Math.floor(pos), inSize - 1);
    pos += scale;
  }
  return out;
}

/**
 * A label map resized with nearest neighbours as PIL `Image.resize((width, height), NEAREST)`.
 *
 * @example
 * const small = resizeNearest(firstFrameLabels, 30, 56); // labels on a 30x56 patch grid
 */
export function resizeNearest(map: Map2D, height: number, width: number): Map2D & { data: Int32Array } {
  checkInt('height', height, 1);
  checkInt('width', width, 1);
  if (map.data.length !== map.height * map.width) throw new ShapeError(`resizeNearest: ${map.data.length} values for ${map.height}x${map.width}`);
  const ys = pilNearestIndices(map.height, height), xs = pilNearestIndices(map.width, width);
  const out = new Int32Array(height * width);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = map.data[ys[y] * map.width + xs[x]];
  return { data: out, height, width };
}

/**
 * Bilinear upsampling of channel-last maps [h, w, C] by an integer factor, with PyTorch's
 * align_corners=False coordinates (src = (dst + 0.5) / factor - 0.5, clamped at 0) and float32
 * arithmetic. Returns [h * factor, w * factor, C].
 */
export function upsampleBilinear(values: Float32Array, h: number, w: number, channels: number, factor: number): Float32Array {
  checkInt('factor', factor, 1);
  if (values.length !== h * w * channels) throw new ShapeError(`upsampleBilinear: ${values.length} values for ${h}x${w}x${channels}`);
  const H = h * factor, W = w * factor;
  const f = Math.fround;
  const scale = f(1 / factor);
  const coord = (dst: number, size: number) => {
    const src = Math.max(f(f(scale * f(dst + 0.5)) - 0.5), 0);
    const i0 = Math.floor(src);
    const i1 = i0 < size - 1 ? i0 + 1 : i0;
    const l1 = f(src - i0);
    return { i0, i1, l0: f(1 - l1), l1 };
  };
  const cols = Array.from({ length: W }, (_, x) => coord(x, w));
  const out = new Float32Array(H * W * channels);
  for (let y = 0; y < H; y++) {
    const r = coord(y, h);
    for (let x = 0; x < W; x++) {
      const c = cols[x];
      const p00 = (r.i0 * w + c.i0) * channels, p01 = (r.i0 * w + c.i1) * channels;
      const p10 = (r.i1 * w + c.i0) * channels, p11 = (r.i1 * w + c.i1) * channels;
      for (let k = 0; k < channels; k++) {
        const top = f(f(c.l0 * values[p00 + k]) + f(c.l1 * values[p01 + k]));
        const bottom = f(f(c.l0 * values[p10 + k]) + f(c.l1 * values[p11 + k]));
        out[(y * W + x) * channels + k] = f(f(r.l0 * top) + f(r.l1 * bottom));
      }
    }
  }
  return out;
}
