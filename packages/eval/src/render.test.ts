import * as tf from '@tensorflow/tfjs-core';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '@dino-ts/core';
import { describeBackends, tempDir } from '@dino-ts/core/testing';
import { colormap } from './colormap';
import { encodePng, saveAttentionVisualization } from './node/index';
import { enlarge, heatmapImage, imageGrid, maskLayer, maskOverlay, toImageData, toRgbImage } from './render';
import { attentionGallery, attentionImageData, visualizeAttention } from './visualize';
import { createTinyBackbone } from './testing';

describe('rendering', () => {
  it('maps values through viridis and min-max scales heat maps (as matplotlib imsave)', () => {
    // viridis(0), viridis(0.5) (entry 128) and viridis(1) of matplotlib, times 255.
    expect(colormap(0)).toEqual([68, 1, 84]);
    expect(colormap(128 / 255)).toEqual([33, 145, 140]);
    expect(colormap(1)).toEqual([253, 231, 37]);
    expect(colormap(0.5, 'gray')).toEqual([128, 128, 128]);
    const heat = heatmapImage([5, 7, 9, 7], 2, 2);
    expect(Array.from(heat.data.subarray(0, 3))).toEqual(colormap(0));
    expect(Array.from(heat.data.subarray(6, 9))).toEqual(colormap(1));
    expect(Array.from(heat.data.subarray(3, 6))).toEqual(colormap(0.5));
  });

  it('overlays masks as apply_mask, denormalises images, enlarges and grids', () => {
    const img = toRgbImage([0, 0.5, 1, 0.25], 2, 2, 1);
    expect(Array.from(img.data)).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255, 64, 64, 64]);
    const denorm = toRgbImage([0, 0, 0], 1, 1, 3, { mean: [0.5, 0.25, 1], std: [1, 1, 1] });
    expect(Array.from(denorm.data)).toEqual([128, 64, 255]);
    // image * (1 - 0.5 m) + 0.5 m * color * 255, truncated.
    const over = maskOverlay(img, [1, 0, 0, 0], { contour: false });
    expect(Array.from(over.data.subarray(0, 6))).toEqual([127, 0, 0, 128, 128, 128]);
    const withContour = maskOverlay(img, [1, 0, 0, 0]);
    expect(Array.from(withContour.data.subarray(0, 3))).toEqual([255, 0, 0]);
    const big = enlarge(img, 3);
    expect([big.width, big.height]).toEqual([6, 6]);
    expect(Array.from(big.data.subarray(3 * 3, 3 * 3 + 3))).toEqual([128, 128, 128]);
    const grid = imageGrid([img, big, img], { cols: 2, padding: 1 });
    expect([grid.width, grid.height]).toEqual([2 * 6 + 3, 2 * 6 + 3]);
    expect(Array.from(grid.data.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(() => maskOverlay(img, [1, 0])).toThrow(ShapeError);
  });

  it('renders RGBA (ImageData-shaped) pictures for a canvas: opaque copies and see-through mask layers', () => {
    const heat = heatmapImage([0, 1], 1, 2);
    const rgba = toImageData(heat);
    expect(rgba.data).toBeInstanceOf(Uint8ClampedArray);
    expect([rgba.width, rgba.height, rgba.data.length]).toEqual([2, 1, 8]);
    expect(Array.from(rgba.data)).toEqual([...colormap(0), 255, ...colormap(1), 255]);
    expect(Array.from(toImageData(heat, 128).data.subarray(4))).toEqual([...colormap(1), 128]);
    expect(() => toImageData({ data: new Uint8Array(5), width: 2, height: 1 })).toThrow(ShapeError);

    // 2x2 mask, one pixel set: without the contour the mask pixel is red at alpha 0.5, the rest clear.
    const layer = maskLayer([1, 0, 0, 0], 2, 2, { contour: false });
    expect(Array.from(layer.data)).toEqual([255, 0, 0, 128, ...new Array(12).fill(0)]);
    // Composited source-over onto the image it gives maskOverlay's picture (up to its truncation).
    const img = toRgbImage([0, 0.5, 1, 0.25], 2, 2, 1);
    const over = maskOverlay(img, [1, 0, 0, 0], { contour: false });
    const a = layer.data[3] / 255;
    expect(Math.abs(img.data[0] * (1 - a) + layer.data[0] * a - over.data[0])).toBeLessThanOrEqual(1);
    // With the contour (default) the outline is opaque in the mask colour.
    const outlined = maskLayer([1, 0, 0, 0], 2, 2, { color: [0, 0, 1] });
    expect(Array.from(outlined.data.subarray(0, 4))).toEqual([0, 0, 255, 255]);
    expect(() => maskLayer([1], 2, 2)).toThrow(ShapeError);
    // What a page does with it (ImageData exists in browsers; the shape is all it needs).
    const ImageDataCtor = (globalThis as { ImageData?: new (d: Uint8ClampedArray, w: number, h: number) => unknown }).ImageData;
    if (ImageDataCtor) expect(() => new ImageDataCtor(rgba.data, rgba.width, rgba.height)).not.toThrow();
  });

  it('encodes PNGs that decode to the same pixels', async () => {
    const img = heatmapImage(Float32Array.from({ length: 12 }, (_, i) => i), 3, 4);
    const png = await encodePng(img);
    expect(Array.from(png.subarray(1, 4))).toEqual([80, 78, 71]); // "PNG"
    const sharp = (await import('sharp')).default;
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([4, 3, 3]);
    expect(Array.from(data)).toEqual(Array.from(img.data));
  });
});

describeBackends('attention visualization', () => {
  it('renders heads, means and masks of a backbone and writes the reference file names', async () => {
    const bb = createTinyBackbone({ patchSize: 4, embedDim: 8, numHeads: 2, depth: 1, seed: 7 });
    const images = tf.tensor4d(Float32Array.from({ length: 2 * 10 * 12 * 3 }, (_, i) => Math.cos(i)), [2, 10, 12, 3]);
    const before = tf.memory().numTensors;
    const vis = await visualizeAttention(bb, images, { scale: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(vis).toHaveLength(2);
    // 10x12 crops to the 2x3 patch grid: 8x12 pixels, enlarged twice.
    expect([vis[0].image.width, vis[0].image.height]).toEqual([24, 16]);
    expect(vis[0].heads).toHaveLength(2);
    expect(vis[0].headMasks).toHaveLength(2);
    const rgba = attentionImageData(vis[0]);
    expect([rgba.mean.width, rgba.mean.height, rgba.mean.data.length]).toEqual([24, 16, 24 * 16 * 4]);
    expect(rgba.headMasks).toHaveLength(2);
    expect(rgba.threshold).toBe(vis[0].threshold);
    // The RGB of each pixel is unchanged, alpha is opaque.
    expect(Array.from(rgba.meanMask.data.subarray(0, 4))).toEqual([...vis[0].meanMask.data.subarray(0, 3), 255]);
    const gallery = attentionGallery(vis, { padding: 0 });
    // Per row: image, mean heat map, 2 head heat maps, mean mask, 2 head masks.
    expect([gallery.width, gallery.height]).toEqual([7 * 24, 2 * 16]);
    const dir = tempDir('dino-eval-');
    try {
      await saveAttentionVisualization(dir, vis[0]);
      expect(readdirSync(dir).sort()).toEqual(
        ['attn-head0.png', 'attn-head1.png', 'attn-mean.png', 'img.png', 'mask_th0.6_head0.png', 'mask_th0.6_head1.png', 'mask_th0.6_mean.png'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    bb.dispose();
  });
});
