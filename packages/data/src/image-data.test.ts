import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, ShapeError } from '@dino-ts/core';
import {
  ArrayDataset,
  datasetFromImages,
  imagePixels,
  type CanvasFactory,
  type CanvasLike,
  type Canvas2DContextLike,
  type ImageDataLike,
} from './index';

/** An ImageData-shaped plain object: what `ctx.getImageData` returns, without a DOM. */
function rgba(width: number, height: number, pixels: number[][]): ImageDataLike {
  return { data: Uint8ClampedArray.from(pixels.flat()), width, height };
}

/**
 * A minimal 2-D canvas with nearest-neighbour sampling (pixel centres), enough to check the
 * geometry of fit modes and background flattening without a browser. Sources are other fake
 * canvases or `{ width, height, pixels }` bitmaps.
 */
class FakeCanvas implements CanvasLike {
  pixels: Uint8ClampedArray;
  constructor(
    public width: number,
    public height: number,
  ) {
    this.pixels = new Uint8ClampedArray(width * height * 4);
  }
  getContext(): Canvas2DContextLike {
    const c = this;
    return {
      canvas: c,
      fillStyle: '',
      fillRect(x, y, w, h) {
        const [r, g, b] = String(this.fillStyle).match(/\d+/g)!.map(Number);
        for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) c.pixels.set([r, g, b, 255], 4 * (yy * c.width + xx));
      },
      drawImage(image: never, sx, sy, sw, sh, dx, dy, dw, dh) {
        const src = image as { width: number; pixels: Uint8ClampedArray };
        for (let y = Math.ceil(dy - 0.5); y < dy + dh - 0.5; y++) {
          for (let x = Math.ceil(dx - 0.5); x < dx + dw - 0.5; x++) {
            const u = Math.floor(sx + ((x + 0.5 - dx) / dw) * sw), v = Math.floor(sy + ((y + 0.5 - dy) / dh) * sh);
            const p = src.pixels.subarray(4 * (v * src.width + u), 4 * (v * src.width + u) + 4);
            const a = p[3] / 255, o = 4 * (y * c.width + x);
            for (let k = 0; k < 3; k++) c.pixels[o + k] = p[k] * a + c.pixels[o + k] * (1 - a);
            c.pixels[o + 3] = 255;
          }
        }
      },
      getImageData: (x, y, w, h) => ({ data: c.pixels.slice(), width: w, height: h }),
      createImageData: (w, h) => ({ data: new Uint8ClampedArray(w * h * 4) }),
      putImageData(image: never) {
        c.pixels.set((image as { data: Uint8ClampedArray }).data);
      },
    };
  }
}
const fakeCanvas: CanvasFactory = (w, h) => new FakeCanvas(w, h);

/** A decoded image as a drawable source (stands in for an ImageBitmap). */
function bitmap(width: number, height: number, pixels: number[][]) {
  return { width, height, pixels: Uint8ClampedArray.from(pixels.flat()) };
}

const RED = [255, 0, 0, 255], GREEN = [0, 255, 0, 255], BLUE = [0, 0, 255, 255], CLEAR = [9, 9, 9, 0];

describe('imagePixels', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('converts ImageData-like RGBA to HWC bytes without a canvas, flattening alpha onto the background', () => {
    const img = rgba(2, 2, [RED, GREEN, [0, 0, 255, 128], CLEAR]);
    expect(Array.from(imagePixels(img))).toEqual([255, 0, 0, 0, 255, 0, 127, 127, 255, 255, 255, 255]);
    expect(Array.from(imagePixels(img, { background: [0, 0, 0] }).subarray(6))).toEqual([0, 0, 128, 0, 0, 0]);
    // ITU-R 601-2 luma, as PIL convert('L'): red 76, green 150, blue 29.
    expect(Array.from(imagePixels(rgba(3, 1, [RED, GREEN, BLUE]), { channels: 1 }))).toEqual([76, 150, 29]);
    // The size it already has needs no canvas either.
    expect(imagePixels(img, { size: 2 })).toHaveLength(12);
  });

  it('rejects malformed pixels and options', () => {
    expect(() => imagePixels({ data: new Uint8ClampedArray(3), width: 1, height: 1 })).toThrow(ShapeError);
    expect(() => imagePixels(rgba(1, 1, [RED]), { channels: 2 as never })).toThrow(/channels = 2/);
    expect(() => imagePixels(rgba(1, 1, [RED]), { background: [0, 0, 256] })).toThrow(ConfigError);
    expect(() => imagePixels({ width: 0, height: 0 })).toThrow(/no size/);
  });

  it('needs a canvas to resize, and says how to pass one where the environment has none (Node)', () => {
    expect(() => imagePixels(rgba(2, 1, [RED, BLUE]), { size: 1 })).toThrow(/createCanvas.*OffscreenCanvas/);
  });

  it('draws sources through a canvas by fit mode: cover crops the centre, contain pads, fill stretches', () => {
    // 4x1: red, green, blue, red. To 2x1 cover: scale 1, the centre 2x1 crop (green, blue).
    const wide = bitmap(4, 1, [RED, GREEN, BLUE, RED]);
    expect(Array.from(imagePixels(wide, { size: [1, 2], createCanvas: fakeCanvas }))).toEqual([0, 255, 0, 0, 0, 255]);
    // 2x1 into 2 wide, 3 high with contain: scale min(2/2, 3/1) = 1, centred on the middle row;
    // the rows above and below are padded with the background.
    const contain = imagePixels(bitmap(2, 1, [RED, GREEN]), { size: [3, 2], fit: 'contain', background: [0, 0, 0], createCanvas: fakeCanvas });
    expect(Array.from(contain)).toEqual([0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0]);
    // fill: 4 columns into 2, nearest at pixel centres: columns 1 and 3.
    expect(Array.from(imagePixels(wide, { size: [1, 2], fit: 'fill', createCanvas: fakeCanvas }))).toEqual([0, 255, 0, 255, 0, 0]);
    // A transparent source lands on the background.
    expect(Array.from(imagePixels(bitmap(1, 1, [CLEAR]), { background: [1, 2, 3], createCanvas: fakeCanvas }))).toEqual([1, 2, 3]);
  });

  it('resizes ImageData-like pixels through a staging canvas, and finds OffscreenCanvas by feature detection', () => {
    vi.stubGlobal('OffscreenCanvas', FakeCanvas);
    const img = rgba(2, 1, [RED, BLUE]);
    // Enlarged 2x with 'fill': each pixel doubled.
    expect(Array.from(imagePixels(img, { size: [1, 4], fit: 'fill' }))).toEqual([255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255]);
    // naturalWidth/Height (an <img>) win over width/height (its layout size).
    const el = { ...bitmap(1, 1, [GREEN]), width: 300, height: 150, naturalWidth: 1, naturalHeight: 1 };
    expect(Array.from(imagePixels(el))).toEqual([0, 255, 0]);
  });
});

describe('datasetFromImages', () => {
  it('builds an ArrayDataset whose batches are NHWC float32 in [0, 1], like every other source', () => {
    const ds = datasetFromImages([rgba(2, 1, [RED, GREEN]), rgba(2, 1, [BLUE, CLEAR])], {
      name: 'page',
      labels: [1, 0],
      classNames: ['a', 'b'],
    });
    expect(ds).toBeInstanceOf(ArrayDataset);
    expect([ds.name, ds.length, ds.height, ds.width, ds.channels, ds.numClasses]).toEqual(['page', 2, 1, 2, 3, 2]);
    expect(ds.getSync(0)).toEqual({ image: Uint8Array.from([255, 0, 0, 0, 255, 0]), label: 1 });
    const batch = ds.getBatchSync([1]);
    expect(batch.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(batch.images)).toEqual([0, 0, 1, 1, 1, 1]);
    expect(Array.from(batch.labels)).toEqual([0]);
    const gray = datasetFromImages([rgba(1, 1, [GREEN])], { channels: 1 });
    expect([gray.name, gray.channels, gray.numClasses, gray.getSync(0).image[0]]).toEqual(['images', 1, 0, 150]);
  });

  it('checks sizes and labels', () => {
    expect(() => datasetFromImages([])).toThrow(/no images/);
    // A second image of another size would need resizing, and Node has no canvas.
    expect(() => datasetFromImages([rgba(1, 1, [RED]), rgba(2, 1, [RED, RED])])).toThrow(/createCanvas/);
    expect(() => datasetFromImages([rgba(1, 1, [RED])], { labels: [0, 1], classNames: ['a'] })).toThrow(/2 labels for 1 images/);
    expect(() => datasetFromImages([rgba(1, 1, [RED])], { labels: [3], classNames: ['a'] })).toThrow(ShapeError);
  });
});

// Compile-time only (never called): the DOM's own objects satisfy the structural types, so a page
// passes them without casts. Type-checked under this repository's DOM lib.
export function domTypesFit(ctx: CanvasRenderingContext2D, bm: ImageBitmap, el: HTMLImageElement, id: ImageData): void {
  const offscreen: CanvasFactory = (w, h) => new OffscreenCanvas(w, h);
  const element: CanvasFactory = (w, h) => Object.assign(document.createElement('canvas'), { width: w, height: h });
  const ctx2d: Canvas2DContextLike = ctx;
  void [offscreen, element, ctx2d, imagePixels(bm), imagePixels(el), imagePixels(id), imagePixels(ctx.getImageData(0, 0, 1, 1))];
}
