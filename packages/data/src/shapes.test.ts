import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@dino-ts/core';
import { tempDir } from '@dino-ts/core/testing';
import { SHAPE_CLASS_NAMES, ShapesDataset } from './index';

function bytesEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function countOnes(m: Uint8Array): number {
  let n = 0;
  for (const v of m) n += v;
  return n;
}

describe('ShapesDataset', () => {
  it('is deterministic: same (seed, i) gives identical bytes, other i or seed differ', () => {
    const a = new ShapesDataset({ length: 50, seed: 3 });
    const b = new ShapesDataset({ length: 50, seed: 3 });
    const c = new ShapesDataset({ length: 50, seed: 4 });
    for (const i of [0, 7, 49]) {
      const x = a.getSync(i), y = b.getSync(i);
      expect(bytesEqual(x.image, y.image)).toBe(true);
      expect(bytesEqual(x.mask!, y.mask!)).toBe(true);
      expect(x.label).toBe(y.label);
      expect(bytesEqual(x.image, c.getSync(i).image)).toBe(false);
    }
    // Random access: reading items out of order or twice changes nothing.
    const late = a.getSync(49).image;
    a.getSync(3);
    expect(bytesEqual(a.getSync(49).image, late)).toBe(true);
    const images = Array.from({ length: 20 }, (_, i) => a.getSync(i).image);
    for (let i = 0; i < 20; i++) for (let j = i + 1; j < 20; j++) expect(bytesEqual(images[i], images[j])).toBe(false);
    // The item does not depend on the data set length.
    expect(bytesEqual(new ShapesDataset({ length: 1000, seed: 3 }).getSync(7).image, a.getSync(7).image)).toBe(true);
  });

  it('returns HWC uint8 images, labels and HW masks of the configured size', () => {
    const ds = new ShapesDataset({ length: 10, size: 48 });
    expect([ds.height, ds.width, ds.channels, ds.numClasses]).toEqual([48, 48, 3, SHAPE_CLASS_NAMES.length]);
    const { image, label, mask } = ds.getSync(0);
    expect(image).toBeInstanceOf(Uint8Array);
    expect(image.length).toBe(48 * 48 * 3);
    expect(mask!.length).toBe(48 * 48);
    expect(label).toBeGreaterThanOrEqual(0);
    expect(label).toBeLessThan(ds.numClasses);
    const batch = ds.getBatchSync([0, 1, 2]);
    expect(batch.shape).toEqual([3, 48, 48, 3]);
    expect(batch.masks!.length).toBe(3 * 48 * 48);
    expect(Math.max(...batch.images)).toBeLessThanOrEqual(1);
    expect(batch.images[5]).toBeCloseTo(image[5] / 255, 6);
  });

  it('has balanced classes: every block of numClasses items holds each class once', () => {
    const ds = new ShapesDataset({ length: 1000, seed: 11 });
    const counts = new Array(ds.numClasses).fill(0);
    for (let i = 0; i < ds.length; i++) counts[ds.labelOf(i)]++;
    expect(counts).toEqual(new Array(ds.numClasses).fill(ds.length / ds.numClasses));
    const block = new Set(Array.from({ length: ds.numClasses }, (_, k) => ds.labelOf(30 + k)));
    expect(block.size).toBe(ds.numClasses);
    // Not a fixed cycle: consecutive blocks are ordered differently.
    const order = (b: number) => Array.from({ length: ds.numClasses }, (_, k) => ds.labelOf(b * ds.numClasses + k)).join();
    expect(new Set([0, 1, 2, 3, 4].map(order)).size).toBeGreaterThan(1);
  });

  it('masks are exactly the object: solid objects on a clean background', () => {
    // Without clutter and grain, fully covered pixels show the object colour and pixels away
    // from the mask show the background, which differs from it by the contrast rule.
    const ds = new ShapesDataset({ length: 40, size: 32, clutter: 0, textures: ['solid'] });
    for (let i = 0; i < ds.length; i++) {
      const { image, mask } = ds.getSync(i);
      const c1 = ds.scene(i).object.texture.c1.map((v) => Math.round(v * 255));
      const s = ds.height;
      let inside = 0, insideMatch = 0, outside = 0, outsideMatch = 0;
      for (let y = 1; y < s - 1; y++) {
        for (let x = 1; x < s - 1; x++) {
          const p = y * s + x;
          const nb = [p, p - 1, p + 1, p - s, p + s].map((q) => mask![q]);
          const px = [image[3 * p], image[3 * p + 1], image[3 * p + 2]];
          const isC1 = Math.max(...px.map((v, ch) => Math.abs(v - c1[ch]))) <= 1;
          if (nb.every((v) => v === 1)) {
            inside++;
            if (isC1) insideMatch++;
          } else if (nb.every((v) => v === 0)) {
            outside++;
            if (isC1) outsideMatch++;
          }
        }
      }
      expect(inside).toBeGreaterThan(10);
      expect(insideMatch / inside).toBeGreaterThan(0.95);
      expect(outsideMatch / outside).toBeLessThan(0.01);
    }
  });

  it('mask areas follow the geometry (circle pi (0.85 r)^2, square (1.44 r)^2) at any size', () => {
    for (const size of [32, 64]) {
      const ds = new ShapesDataset({ length: 200, size, classes: ['circle', 'square'] });
      for (let i = 0; i < 40; i++) {
        const { object, label } = ds.scene(i);
        const r = object.radius * size;
        const expected = label === 0 ? Math.PI * (0.85 * r) ** 2 : (1.44 * r) ** 2;
        const area = countOnes(ds.getSync(i).mask!);
        // Square corners may leave the image by a hair; the rest is edge pixel rounding.
        expect(Math.abs(area - expected) / expected).toBeLessThan(size === 32 ? 0.12 : 0.06);
      }
    }
    // The scene does not depend on the pixel size: the same picture at 32 and 64 px.
    const s32 = new ShapesDataset({ length: 10, size: 32 }), s64 = new ShapesDataset({ length: 10, size: 64 });
    expect(s32.scene(5)).toEqual(s64.scene(5));
    const f32 = countOnes(s32.getSync(5).mask!) / 1024, f64 = countOnes(s64.getSync(5).mask!) / 4096;
    expect(Math.abs(f32 - f64)).toBeLessThan(0.02);
  });

  it('objects stand out from the background right around them, on cluttered images', () => {
    const ds = new ShapesDataset({ length: 200, size: 32 });
    let contrasted = 0;
    for (let i = 0; i < ds.length; i++) {
      const { image, mask } = ds.getSync(i);
      const s = ds.height;
      expect(countOnes(mask!)).toBeGreaterThan(0);
      // Mean colour inside the mask vs a 2-pixel band just outside it.
      const inMean = [0, 0, 0], outMean = [0, 0, 0];
      let nIn = 0, nOut = 0;
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          const p = y * s + x;
          let near = false;
          for (let dy = -2; dy <= 2 && !near; dy++) {
            for (let dx = -2; dx <= 2; dx++) {
              const yy = y + dy, xx = x + dx;
              if (yy >= 0 && yy < s && xx >= 0 && xx < s && mask![yy * s + xx]) { near = true; break; }
            }
          }
          const target = mask![p] ? inMean : near ? outMean : null;
          if (!target) continue;
          for (let ch = 0; ch < 3; ch++) target[ch] += image[3 * p + ch] / 255;
          if (mask![p]) nIn++; else nOut++;
        }
      }
      const d = Math.hypot(...inMean.map((v, ch) => v / nIn - outMean[ch] / nOut));
      if (d > 0.12) contrasted++;
    }
    expect(contrasted / ds.length).toBeGreaterThan(0.9);
  });

  it('colour does not give the class away: mean object colour is about the same for every class', () => {
    const ds = new ShapesDataset({ length: 1000, size: 16 });
    const sums = Array.from({ length: ds.numClasses }, () => [0, 0, 0]);
    const counts = new Array(ds.numClasses).fill(0);
    for (let i = 0; i < ds.length; i++) {
      const { object, label } = ds.scene(i);
      object.texture.c1.forEach((v, ch) => (sums[label][ch] += v));
      counts[label]++;
    }
    const means = sums.map((s, k) => s.map((v) => v / counts[k]));
    const all = [0, 1, 2].map((ch) => means.reduce((a, m) => a + m[ch], 0) / means.length);
    // 100 draws per class: the standard error of a channel mean is about 0.03.
    for (const m of means) for (let ch = 0; ch < 3; ch++) expect(Math.abs(m[ch] - all[ch])).toBeLessThan(0.12);
  });

  // Raw-pixel k-NN on these images (poor but above chance) is checked in packages/eval
  // (knn-shapes.test.ts), with the evaluation package's own knnClassifier.

  it('writes a PNG grid of examples that sharp can read back', async () => {
    const ds = new ShapesDataset({ length: 40, size: 32 });
    const cols = 10, rows = 4, s = 32;
    const grid = new Uint8Array(rows * cols * s * s * 3);
    for (let i = 0; i < rows * cols; i++) {
      const { image } = ds.getSync(i);
      const r0 = Math.floor(i / cols) * s, c0 = (i % cols) * s;
      for (let y = 0; y < s; y++) grid.set(image.subarray(y * s * 3, (y + 1) * s * 3), ((r0 + y) * cols * s + c0) * 3);
    }
    const dir = tempDir('dino-data-grid-');
    const file = join(dir, 'shapes-grid.png');
    await sharp(grid, { raw: { width: cols * s, height: rows * s, channels: 3 } }).png().toFile(file);
    expect(existsSync(file)).toBe(true);
    const back = await sharp(file).raw().toBuffer();
    expect(bytesEqual(back, grid)).toBe(true);
  });

  it('rejects bad options with the parameter named', () => {
    expect(() => new ShapesDataset({ size: 2 })).toThrow(ConfigError);
    expect(() => new ShapesDataset({ size: 2 })).toThrow(/size/);
    expect(() => new ShapesDataset({ classes: ['circle', 'blob'] })).toThrow(/classes = "blob".*circle/);
    expect(() => new ShapesDataset({ classes: [] })).toThrow(/classes/);
    expect(() => new ShapesDataset({ radiusRange: [0.3, 0.2] })).toThrow(/radiusRange/);
    expect(() => new ShapesDataset({ textures: ['plaid' as never] })).toThrow(/textures = "plaid"/);
    expect(() => new ShapesDataset({ length: 5 }).getSync(5)).toThrow(/index = 5.*\[0, 4\]/);
    expect(() => new ShapesDataset({ maxRotation: 200 })).toThrow(/maxRotation = 200/);
    expect(() => new ShapesDataset({ placement: -0.1 })).toThrow(/placement = -0.1/);
    expect(() => new ShapesDataset({ palette: 'sepia' as never })).toThrow(/palette = "sepia".*'colour' or 'mono'/);
  });

  it('maxRotation and placement bound the pose: 0 and 0 give centred, upright objects', () => {
    const d = new ShapesDataset({ length: 40, size: 32, maxRotation: 0, placement: 0 });
    for (let i = 0; i < d.length; i++) {
      const { object } = d.scene(i);
      expect([object.cx, object.cy, object.angle]).toEqual([0.5, 0.5, 0]);
    }
    const some = new ShapesDataset({ length: 200, size: 32, maxRotation: 20, placement: 0.3 });
    for (let i = 0; i < some.length; i++) {
      const { object } = some.scene(i);
      expect(Math.abs(object.angle)).toBeLessThanOrEqual((20 * Math.PI) / 180);
      const room = 0.3 * (0.5 - object.radius);
      expect(Math.abs(object.cx - 0.5)).toBeLessThanOrEqual(room + 1e-12);
      expect(Math.abs(object.cy - 0.5)).toBeLessThanOrEqual(room + 1e-12);
    }
    // The defaults are unchanged by the new options: any orientation, anywhere the object fits.
    const free = new ShapesDataset({ length: 400, size: 32 });
    const angles = Array.from({ length: free.length }, (_, i) => free.scene(i).object.angle);
    expect(Math.max(...angles)).toBeGreaterThan(1.8 * Math.PI);
  });

  it("palette 'mono': a light object on a dark background, the same pose, mask and label as in colour", () => {
    const opts = { length: 30, size: 32, clutter: 0.5 };
    const colour = new ShapesDataset(opts);
    const mono = new ShapesDataset({ ...opts, palette: 'mono' });
    expect([colour.name, mono.name]).toEqual(['shapes32', 'shapes32-mono']);
    for (let i = 0; i < mono.length; i++) {
      const a = colour.getSync(i), b = mono.getSync(i);
      expect(b.label).toBe(a.label);
      expect(bytesEqual(b.mask!, a.mask!)).toBe(true);
      expect(mono.scene(i).object.cx).toBe(colour.scene(i).object.cx);
      // Grey everywhere but for the per-channel grain (at most 0.06 * clutter either way), and every
      // object far brighter than the background (edges are anti-aliased, so compare means).
      let obj = 0, nObj = 0, bg = 0;
      for (let p = 0; p < 32 * 32; p++) {
        const [r, g, bl] = [b.image[3 * p], b.image[3 * p + 1], b.image[3 * p + 2]];
        expect(Math.max(Math.abs(r - g), Math.abs(g - bl))).toBeLessThanOrEqual(Math.ceil(2 * 0.06 * 0.5 * 255));
        if (b.mask![p]) (obj += r), nObj++;
        else bg += r;
      }
      expect(obj / nObj - bg / (32 * 32 - nObj)).toBeGreaterThan(120);
    }
  });
});
