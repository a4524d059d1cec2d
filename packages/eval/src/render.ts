/**
 * Host-side pictures for reports: images as 8-bit RGB, heat maps through a colour map, the
 * reference's mask overlay (visualize_attention.py apply_mask + the mask outline), nearest
 * enlargement and gallery grids. Pure functions on arrays, so they run in a browser: `toImageData`
 * and `maskLayer` give RGBA (`ImageData`-shaped) pictures a page draws with putImageData /
 * drawImage; PNG files (sharp) are `encodePng` / `writePng` in '@dino-ts/eval/node'.
 */
import { ShapeError, checkInt, checkNumber } from '@dino-ts/core';
import { colormap, type ColormapName } from './colormap';
import { DEFAULTS } from './defaults';
import { seg2bmap } from './davis';

/** An 8-bit RGB image, row-major HWC. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface ToRgbOptions {
  /** Undo the normalisation x * std + mean, then clip to [0, 1]. Default: min-max scaling of the image (torchvision make_grid(normalize=True)). */
  mean?: readonly number[];
  std?: readonly number[];
}

/**
 * An HWC float image (1 or 3 channels) as 8-bit RGB.
 *
 * @example
 * const rgb = toRgbImage(pixels, 28, 28, 1); // min-max scaled gray image
 */
export function toRgbImage(image: ArrayLike<number>, height: number, width: number, channels: number, opts: ToRgbOptions = {}): RgbImage {
  if (channels !== 1 && channels !== 3) throw new ShapeError(`toRgbImage: channels must be 1 or 3, got ${channels}`);
  if (image.length !== height * width * channels) {
    throw new ShapeError(`toRgbImage: ${image.length} values for ${height}x${width}x${channels}`);
  }
  const out = new Uint8Array(height * width * 3);
  let scale: (v: number, c: number) => number;
  if (opts.mean || opts.std) {
    const m = opts.mean ?? [0], s = opts.std ?? [1];
    scale = (v, c) => v * s[s.length === 1 ? 0 : c] + m[m.length === 1 ? 0 : c];
  } else {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < image.length; i++) {
      lo = Math.min(lo, image[i]);
      hi = Math.max(hi, image[i]);
    }
    const range = Math.max(hi - lo, 1e-5);
    scale = (v) => (v - lo) / range;
  }
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) {
      const ch = channels === 1 ? 0 : c;
      const v = scale(image[p * channels + ch], ch);
      out[p * 3 + c] = Math.round(255 * Math.min(Math.max(v, 0), 1));
    }
  }
  return { data: out, width, height };
}

export interface HeatmapOptions {
  colormap?: ColormapName;
  /** Value mapped to the first colour. Default: the map's minimum (matplotlib imsave). */
  min?: number;
  /** Value mapped to the last colour. Default: the map's maximum. */
  max?: number;
}

/** A 2-D map through a colour map. */
export function heatmapImage(values: ArrayLike<number>, height: number, width: number, opts: HeatmapOptions = {}): RgbImage {
  if (values.length !== height * width) throw new ShapeError(`heatmapImage: ${values.length} values for ${height}x${width}`);
  let lo = opts.min ?? Infinity, hi = opts.max ?? -Infinity;
  if (opts.min === undefined || opts.max === undefined) {
    for (let i = 0; i < values.length; i++) {
      if (opts.min === undefined) lo = Math.min(lo, values[i]);
      if (opts.max === undefined) hi = Math.max(hi, values[i]);
    }
  }
  const range = hi > lo ? hi - lo : 1;
  const out = new Uint8Array(height * width * 3);
  for (let i = 0; i < values.length; i++) out.set(colormap((values[i] - lo) / range, opts.colormap), i * 3);
  return { data: out, width, height };
}

export interface OverlayOptions {
  /** RGB in [0, 1]. Default red: the reference's one-mask colour, hsv (0, 1, 1). */
  color?: readonly [number, number, number];
  /** Default 0.5 (apply_mask). */
  alpha?: number;
  /** Draw the mask's boundary pixels in the full colour (the reference draws its contour). Default true. */
  contour?: boolean;
}

/**
 * image * (1 - alpha * mask) + alpha * mask * color * 255 per channel, truncated to 8 bits
 * (visualize_attention.py apply_mask), plus the mask outline.
 */
export function maskOverlay(image: RgbImage, mask: ArrayLike<number>, opts: OverlayOptions = {}): RgbImage {
  const { width, height } = image;
  if (mask.length !== width * height) throw new ShapeError(`maskOverlay: mask has ${mask.length} values, image is ${height}x${width}`);
  const color = opts.color ?? [1, 0, 0];
  const alpha = opts.alpha ?? DEFAULTS.attention.overlayAlpha;
  checkNumber('alpha', alpha, { min: 0, max: 1 });
  const out = new Uint8Array(image.data.length);
  for (let p = 0; p < width * height; p++) {
    const m = mask[p];
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = Math.floor(image.data[p * 3 + c] * (1 - alpha * m) + alpha * m * color[c] * 255);
    }
  }
  if (opts.contour ?? true) {
    const edge = seg2bmap({ data: mask, height, width });
    for (let p = 0; p < width * height; p++) {
      if (edge[p]) for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round(color[c] * 255);
    }
  }
  return { data: out, width, height };
}

/** Enlarges an image by an integer factor (nearest), e.g. a 28 px image to 112 px. */
export function enlarge(image: RgbImage, factor: number): RgbImage {
  checkInt('factor', factor, 1);
  const { width, height } = image;
  const W = width * factor, H = height * factor;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const src = (Math.floor(y / factor) * width + Math.floor(x / factor)) * 3;
      out.set(image.data.subarray(src, src + 3), (y * W + x) * 3);
    }
  }
  return { data: out, width: W, height: H };
}

export interface GridOptions {
  /** Tiles per row. Default: all in one row. */
  cols?: number;
  /** Pixels between tiles. Default 2. */
  padding?: number;
  /** RGB 0..255. Default white. */
  background?: readonly [number, number, number];
}

/** Tiles (of any sizes) laid out row by row; each cell is as large as the largest tile. */
export function imageGrid(tiles: RgbImage[], opts: GridOptions = {}): RgbImage {
  if (tiles.length === 0) throw new ShapeError('imageGrid: no tiles');
  const cols = opts.cols ?? tiles.length;
  checkInt('cols', cols, 1);
  const pad = opts.padding ?? 2;
  checkInt('padding', pad, 0);
  const bg = opts.background ?? [255, 255, 255];
  const cw = Math.max(...tiles.map((t) => t.width)), ch = Math.max(...tiles.map((t) => t.height));
  const rows = Math.ceil(tiles.length / cols);
  const W = cols * cw + (cols + 1) * pad, H = rows * ch + (rows + 1) * pad;
  const out = new Uint8Array(W * H * 3);
  for (let p = 0; p < W * H; p++) out.set(bg, p * 3);
  tiles.forEach((t, i) => {
    const x0 = pad + (i % cols) * (cw + pad), y0 = pad + Math.floor(i / cols) * (ch + pad);
    for (let y = 0; y < t.height; y++) {
      out.set(t.data.subarray(y * t.width * 3, (y + 1) * t.width * 3), ((y0 + y) * W + x0) * 3);
    }
  });
  return { data: out, width: W, height: H };
}

/**
 * A `Uint8ClampedArray` over a plain `ArrayBuffer`. Spelled as `slice`'s return type rather than
 * `Uint8ClampedArray<ArrayBuffer>` so the declaration compiles with TypeScript before 5.7 (typed
 * arrays not generic) and, from 5.7 on, is exactly the array `new ImageData(data, w, h)` accepts.
 */
export type ClampedBytes = ReturnType<Uint8ClampedArray['slice']>;

/**
 * An 8-bit RGBA image, row-major: the shape of a DOM `ImageData`, so a page draws it with
 * `ctx.putImageData(new ImageData(img.data, img.width, img.height), 0, 0)`.
 */
export interface RgbaImage {
  data: ClampedBytes;
  width: number;
  height: number;
}

/**
 * An RGB picture (a heat map, a mask overlay, a gallery) as RGBA with a constant alpha.
 *
 * @example
 * const rgba = toImageData(heatmapImage(map, 14, 14));
 * ctx.putImageData(new ImageData(rgba.data, rgba.width, rgba.height), 0, 0);
 */
export function toImageData(image: RgbImage, alpha = 255): RgbaImage {
  checkInt('alpha', alpha, 0, 255);
  const n = image.width * image.height;
  if (image.data.length !== 3 * n) throw new ShapeError(`toImageData: ${image.data.length} values for ${image.height}x${image.width} RGB`);
  const out = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    out[4 * p] = image.data[3 * p];
    out[4 * p + 1] = image.data[3 * p + 1];
    out[4 * p + 2] = image.data[3 * p + 2];
    out[4 * p + 3] = alpha;
  }
  return { data: out, width: image.width, height: image.height };
}

/**
 * A mask as a see-through RGBA layer: mask pixels in `color` with opacity alpha * mask, the
 * outline opaque, the rest transparent. Composited over the image (canvas drawImage,
 * source-over) it is `maskOverlay`'s picture up to rounding, while a page can still toggle it or
 * lay it over its own rendering of the image.
 */
export function maskLayer(mask: ArrayLike<number>, height: number, width: number, opts: OverlayOptions = {}): RgbaImage {
  if (mask.length !== height * width) throw new ShapeError(`maskLayer: mask has ${mask.length} values for ${height}x${width}`);
  const color = opts.color ?? [1, 0, 0];
  const alpha = opts.alpha ?? DEFAULTS.attention.overlayAlpha;
  checkNumber('alpha', alpha, { min: 0, max: 1 });
  const rgb = color.map((c) => Math.round(c * 255));
  const out = new Uint8ClampedArray(4 * height * width);
  const edge = (opts.contour ?? true) ? seg2bmap({ data: mask, height, width }) : undefined;
  for (let p = 0; p < height * width; p++) {
    const a = edge?.[p] ? 1 : alpha * mask[p];
    if (a <= 0) continue; // transparent black, as a fresh ImageData
    out.set(rgb, 4 * p);
    out[4 * p + 3] = Math.round(255 * a);
  }
  return { data: out, width, height };
}
