/**
 * Images that a browser has already decoded (`ImageData`, `ImageBitmap`, `<img>`, `<video>`,
 * canvases) as the pixels of this package: HWC `Uint8Array` 0..255 with 3 (RGB) or 1 (gray)
 * channels, the format `ImageFolderDataset` produces in Node with sharp, so a page can build the
 * same data sets from user images.
 *
 * The types are structural (nothing from the DOM lib), so the declarations compile for consumers
 * without `"lib": ["DOM"]`, and the code runs in Node too: `ImageData`-shaped objects
 * (`{ data, width, height }`) are converted in plain JavaScript; only resizing and drawable sources
 * need a 2-D canvas, found at run time (`OffscreenCanvas`, else `document.createElement('canvas')`)
 * or passed in as `createCanvas` (e.g. node-canvas, or a worker's own factory).
 */
import { ConfigError, ShapeError, checkChoice, checkInt } from '@dino-ts/core';
import { ArrayDataset } from './array-dataset';

/**
 * RGBA pixels, row-major, 4 values 0..255 per pixel: the shape of a DOM `ImageData`, or of
 * `{ data: Uint8ClampedArray, width, height }` from anywhere else.
 */
export interface ImageDataLike {
  readonly data: ArrayLike<number>;
  readonly width: number;
  readonly height: number;
}

/**
 * Anything a 2-D canvas can `drawImage`: `ImageBitmap`, `HTMLImageElement`, `HTMLVideoElement`,
 * `HTMLCanvasElement`, `OffscreenCanvas`, `VideoFrame`. Its intrinsic size is read from the first
 * of naturalWidth/Height (images), videoWidth/Height (videos), displayWidth/Height (video frames)
 * and width/height that is present.
 */
export interface DrawableImageLike {
  readonly width?: number;
  readonly height?: number;
  readonly naturalWidth?: number;
  readonly naturalHeight?: number;
  readonly videoWidth?: number;
  readonly videoHeight?: number;
  readonly displayWidth?: number;
  readonly displayHeight?: number;
}

/** The part of `CanvasRenderingContext2D` / `OffscreenCanvasRenderingContext2D` used here. */
export interface Canvas2DContextLike {
  /** The context's canvas: drawn from when image data must be resized. */
  readonly canvas?: unknown;
  fillStyle: unknown;
  imageSmoothingEnabled?: boolean;
  imageSmoothingQuality?: unknown;
  fillRect(x: number, y: number, w: number, h: number): void;
  drawImage(image: never, sx: number, sy: number, sw: number, sh: number, dx: number, dy: number, dw: number, dh: number): void;
  getImageData(x: number, y: number, w: number, h: number): ImageDataLike;
  createImageData(w: number, h: number): { readonly data: { set(values: ArrayLike<number>): void } };
  putImageData(image: never, dx: number, dy: number): void;
}

/** The part of a canvas element / `OffscreenCanvas` used here. */
export interface CanvasLike {
  width: number;
  height: number;
  getContext(contextId: '2d', options?: { willReadFrequently?: boolean }): Canvas2DContextLike | null;
}

export type CanvasFactory = (width: number, height: number) => CanvasLike;

export interface ImagePixelsOptions {
  /** Output size in pixels: a number (square) or [height, width]. Default: the source's own size. */
  size?: number | readonly [number, number];
  /**
   * How a source of another size reaches `size` (as ImageFolderDataset): 'cover' scales to cover
   * the box and crops the centre; 'fill' stretches; 'contain' fits inside and pads with `background`.
   */
  fit?: 'cover' | 'fill' | 'contain';
  /** 3: RGB; 1: grayscale (ITU-R 601-2 luma, as PIL's convert('L')). */
  channels?: 1 | 3;
  /** RGB 0..255 that transparent pixels are flattened onto (and 'contain' pads with). Default white, as ImageFolderDataset's '#ffffff'. */
  background?: readonly [number, number, number];
  /** Makes the canvas used to resize and to read drawable sources. Default: OffscreenCanvas, else a DOM canvas. */
  createCanvas?: CanvasFactory;
}

export const IMAGE_PIXELS_DEFAULTS = {
  fit: 'cover' as 'cover' | 'fill' | 'contain',
  channels: 3 as 1 | 3,
  background: [255, 255, 255] as readonly [number, number, number],
};

function isImageDataLike(src: ImageDataLike | DrawableImageLike): src is ImageDataLike {
  return typeof src === 'object' && src !== null && 'data' in src && (src as ImageDataLike).data != null;
}

function sourceSize(src: ImageDataLike | DrawableImageLike): [number, number] {
  if (isImageDataLike(src)) return [src.height, src.width];
  const d = src as DrawableImageLike;
  const w = d.naturalWidth || d.videoWidth || d.displayWidth || d.width;
  const h = d.naturalHeight || d.videoHeight || d.displayHeight || d.height;
  if (!w || !h) {
    throw new ShapeError(
      'image source has no size: pass ImageData-like pixels ({ data, width, height }) or a drawable image ' +
        '(ImageBitmap, a loaded <img>, a canvas) whose width and height are known',
    );
  }
  return [h, w];
}

/**
 * A canvas from the environment, feature-detected so this module loads in Node and in workers:
 * `OffscreenCanvas` (workers, modern browsers), else a DOM `<canvas>`.
 */
function environmentCanvas(width: number, height: number): CanvasLike | undefined {
  const g = globalThis as {
    OffscreenCanvas?: new (w: number, h: number) => CanvasLike;
    document?: { createElement?(tag: 'canvas'): CanvasLike };
  };
  if (typeof g.OffscreenCanvas === 'function') return new g.OffscreenCanvas(width, height);
  if (typeof g.document?.createElement === 'function') {
    const c = g.document.createElement('canvas');
    c.width = width;
    c.height = height;
    return c;
  }
  return undefined;
}

function context2d(width: number, height: number, factory: CanvasFactory | undefined, why: string): Canvas2DContextLike {
  const canvas = factory ? factory(width, height) : environmentCanvas(width, height);
  if (!canvas) {
    throw new ConfigError(
      'createCanvas',
      undefined,
      `is needed to ${why}: this environment has neither OffscreenCanvas nor document; pass ` +
        '{ createCanvas: (w, h) => canvas } (e.g. node-canvas), or pass ImageData-like pixels at the output size',
    );
  }
  // willReadFrequently: the pixels are read back once per image; it keeps the canvas on the CPU.
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new ConfigError('createCanvas', undefined, `gave a canvas without a 2-D context, needed to ${why}`);
  return ctx;
}

/**
 * RGBA pixels as HWC bytes with `channels` channels: alpha flattened onto `background`
 * (c * a + bg * (1 - a), rounded), gray by ITU-R 601-2 luma in PIL's fixed-point form.
 */
function rgbaToHwc(src: ImageDataLike, channels: 1 | 3, background: readonly [number, number, number]): Uint8Array {
  const n = src.width * src.height;
  if (src.data.length !== 4 * n) {
    throw new ShapeError(`image data has ${src.data.length} values, expected 4 (RGBA) per pixel: 4 * ${src.width} * ${src.height} = ${4 * n}`);
  }
  const out = new Uint8Array(n * channels);
  const d = src.data;
  for (let p = 0; p < n; p++) {
    const a = d[4 * p + 3] / 255;
    const r = Math.round(d[4 * p] * a + background[0] * (1 - a));
    const g = Math.round(d[4 * p + 1] * a + background[1] * (1 - a));
    const b = Math.round(d[4 * p + 2] * a + background[2] * (1 - a));
    if (channels === 3) {
      out[3 * p] = r;
      out[3 * p + 1] = g;
      out[3 * p + 2] = b;
    } else {
      out[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    }
  }
  return out;
}

/** Source rectangle and destination rectangle of `drawImage` for a fit mode. */
function fitRects(sw: number, sh: number, W: number, H: number, fit: 'cover' | 'fill' | 'contain'): number[] {
  if (fit === 'fill') return [0, 0, sw, sh, 0, 0, W, H];
  if (fit === 'cover') {
    const s = Math.max(W / sw, H / sh);
    const cw = W / s, ch = H / s;
    return [(sw - cw) / 2, (sh - ch) / 2, cw, ch, 0, 0, W, H];
  }
  const s = Math.min(W / sw, H / sh);
  const dw = sw * s, dh = sh * s;
  return [0, 0, sw, sh, (W - dw) / 2, (H - dh) / 2, dw, dh];
}

function checkBackground(bg: readonly number[]): void {
  if (bg.length !== 3 || bg.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new ConfigError('background', bg, 'must be [r, g, b] with integers 0..255');
  }
}

/**
 * One image as HWC bytes (`Uint8Array`, 0..255): the pixel format of this package's data sets.
 * `ImageData`-like pixels at the output size are converted without a canvas (so this works in
 * Node on plain objects); resizing and drawable sources use a 2-D canvas.
 *
 * @example
 * const bitmap = await createImageBitmap(file);          // a File from <input type="file">
 * const pixels = imagePixels(bitmap, { size: 32 });       // Uint8Array 32*32*3
 * const same = imagePixels(ctx.getImageData(0, 0, 32, 32));
 */
export function imagePixels(source: ImageDataLike | DrawableImageLike, options: ImagePixelsOptions = {}): Uint8Array {
  const fit = options.fit ?? IMAGE_PIXELS_DEFAULTS.fit;
  const channels = options.channels ?? IMAGE_PIXELS_DEFAULTS.channels;
  const background = options.background ?? IMAGE_PIXELS_DEFAULTS.background;
  checkChoice('fit', fit, ['cover', 'fill', 'contain']);
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', channels, 'must be 1 (grayscale) or 3 (RGB)');
  checkBackground(background);
  const [sh, sw] = sourceSize(source);
  const [H, W] = options.size === undefined ? [sh, sw] : typeof options.size === 'number' ? [options.size, options.size] : options.size;
  checkInt('size (height)', H, 1, 16384);
  checkInt('size (width)', W, 1, 16384);
  if (isImageDataLike(source) && sh === H && sw === W) return rgbaToHwc(source, channels, background);

  const ctx = context2d(W, H, options.createCanvas, `${isImageDataLike(source) ? 'resize' : 'read'} a ${sw}x${sh} image to ${W}x${H}`);
  let drawable: unknown = source;
  if (isImageDataLike(source)) {
    // Pixels cannot be drawn scaled directly: put them on a canvas of their own size, draw that.
    const staging = context2d(sw, sh, options.createCanvas, `resize a ${sw}x${sh} image`);
    const img = staging.createImageData(sw, sh);
    img.data.set(source.data);
    staging.putImageData(img as never, 0, 0);
    drawable = staging.canvas;
    if (!drawable) throw new ConfigError('createCanvas', undefined, 'gave a 2-D context without its .canvas, needed to resize image data');
  }
  ctx.fillStyle = `rgb(${background[0]}, ${background[1]}, ${background[2]})`;
  ctx.fillRect(0, 0, W, H); // flattens transparency onto the background, and pads 'contain'
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  const [a, b, c, d, e, f, g, h] = fitRects(sw, sh, W, H, fit);
  ctx.drawImage(drawable as never, a, b, c, d, e, f, g, h);
  return rgbaToHwc(ctx.getImageData(0, 0, W, H), channels, background);
}

export interface ImageDatasetOptions extends ImagePixelsOptions {
  /** Default 'images'. */
  name?: string;
  /** One class index per image, or none for unlabeled data. */
  labels?: ArrayLike<number>;
  /** Class names (index = label); required with labels. */
  classNames?: readonly string[];
}

/**
 * An in-memory data set (an `ArrayDataset`) from decoded images: every image converted by
 * `imagePixels` to `size` (default: the first image's size), so a page's images feed the same
 * loader, augmentations and evaluations as the files of `ImageFolderDataset` in Node.
 *
 * @example
 * const bitmaps = await Promise.all(files.map((f) => createImageBitmap(f)));
 * const ds = datasetFromImages(bitmaps, { size: 64, labels: [0, 1], classNames: ['cat', 'dog'] });
 */
export function datasetFromImages(images: readonly (ImageDataLike | DrawableImageLike)[], options: ImageDatasetOptions = {}): ArrayDataset {
  const name = options.name ?? 'images';
  if (images.length === 0) throw new ShapeError(`datasetFromImages "${name}": no images`);
  const size = options.size ?? sourceSize(images[0]);
  const channels = options.channels ?? IMAGE_PIXELS_DEFAULTS.channels;
  const [height, width] = typeof size === 'number' ? [size, size] : size;
  const itemBytes = height * width * channels;
  const all = new Uint8Array(images.length * itemBytes);
  images.forEach((img, i) => {
    const px = imagePixels(img, { ...options, size: [height, width], channels });
    all.set(px, i * itemBytes);
  });
  let labels: Int32Array | undefined;
  if (options.labels) {
    if (options.labels.length !== images.length) {
      throw new ShapeError(`datasetFromImages "${name}": ${options.labels.length} labels for ${images.length} images`);
    }
    labels = Int32Array.from(options.labels);
  }
  return new ArrayDataset({ name, images: all, height, width, channels, labels, classNames: options.classNames });
}
