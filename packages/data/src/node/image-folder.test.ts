import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '@dino-ts/core/testing';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../index';
import { ImageFolderDataset, loadImageFolder } from './index';

/** A solid image of `channels` (1..4) channels, 8 bits unless `bits16`. */
async function solid(file: string, w: number, h: number, values: number[], format: 'png' | 'jpeg' | 'webp', bits16 = false): Promise<void> {
  const c = values.length;
  if (bits16) {
    const data = new Uint16Array(w * h * c);
    for (let i = 0; i < data.length; i++) data[i] = values[i % c];
    await sharp(data, { raw: { width: w, height: h, channels: c as 1 | 2 | 3 | 4 } })
      .toColourspace(c === 1 ? 'grey16' : 'rgb16')
      .png()
      .toFile(file);
    return;
  }
  const data = Buffer.alloc(w * h * c);
  for (let i = 0; i < data.length; i++) data[i] = values[i % c];
  let p = sharp(data, { raw: { width: w, height: h, channels: c as 1 | 2 | 3 | 4 } });
  if (c === 1) p = p.toColourspace('b-w');
  await (format === 'png' ? p.png() : format === 'jpeg' ? p.jpeg({ quality: 95 }) : p.webp({ lossless: true })).toFile(file);
}

/** Three vertical bands (green | red | blue), 60 x 20. */
async function bands(file: string): Promise<void> {
  const w = 60, h = 20, data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(y * w + x) * 3 + (x < 20 ? 1 : x < 40 ? 0 : 2)] = 255;
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

function pixel(img: Uint8Array | Float32Array, w: number, c: number, y: number, x: number): number[] {
  return Array.from(img.subarray((y * w + x) * c, (y * w + x + 1) * c));
}

let root: string;
const warnings: string[] = [];
const warn = (m: string) => warnings.push(m);

beforeAll(async () => {
  root = tempDir('dino-folder-');
  const classes = join(root, 'classes');
  mkdirSync(join(classes, 'apples'), { recursive: true });
  mkdirSync(join(classes, 'bananas', 'nested'), { recursive: true });
  mkdirSync(join(classes, 'cherries'));
  await solid(join(classes, 'apples', 'a1.png'), 40, 30, [200, 10, 10], 'png');
  await solid(join(classes, 'apples', 'a2.jpg'), 33, 33, [20, 200, 20], 'jpeg');
  await solid(join(classes, 'apples', 'a3.webp'), 16, 48, [10, 20, 220], 'webp');
  await solid(join(classes, 'bananas', 'gray.png'), 24, 24, [100], 'png');
  await solid(join(classes, 'bananas', 'rgba.png'), 24, 24, [255, 0, 0, 0], 'png'); // fully transparent red
  await solid(join(classes, 'bananas', 'nested', 'deep16.png'), 24, 24, [40000, 40000, 40000], 'png', true);
  await bands(join(classes, 'cherries', 'bands.png'));
  writeFileSync(join(classes, 'cherries', 'broken.png'), Buffer.from('definitely not a PNG file'));
  writeFileSync(join(classes, 'cherries', 'notes.txt'), 'ignored: not an image extension');
  writeFileSync(join(classes, '.hidden.png'), 'ignored: hidden');
});

describe('ImageFolderDataset', () => {
  it('one sub-folder per class: labels by sorted folder name, recursive, other extensions ignored', async () => {
    warnings.length = 0;
    const ds = await ImageFolderDataset.open(join(root, 'classes'), { size: 8, warn });
    expect(ds.classNames).toEqual(['apples', 'bananas', 'cherries']);
    expect(ds.length).toBe(7); // broken.png skipped
    expect(ds.files.map((f) => f.split(/[\\/]/).slice(-2).join('/'))).toEqual([
      'apples/a1.png', 'apples/a2.jpg', 'apples/a3.webp', 'bananas/gray.png', 'nested/deep16.png', 'bananas/rgba.png', 'cherries/bands.png',
    ]);
    const labels = await Promise.all(Array.from({ length: ds.length }, async (_, i) => (await ds.get(i)).label));
    expect(labels).toEqual([0, 0, 0, 1, 1, 1, 2]);
    // The corrupt file is listed once, in one warning, with its name.
    expect(ds.skipped.map((s) => s.file.split(/[\\/]/).pop())).toEqual(['broken.png']);
    expect(warnings.filter((w) => w.includes('broken.png'))).toHaveLength(1);
    expect(warnings[0]).toMatch(/skipped 1 unreadable file.*\n.*cherries.broken\.png: /);
  });

  it('decodes PNG, JPEG, WebP, grayscale (replicated), RGBA (flattened) and 16-bit PNG to 8-bit RGB', async () => {
    const ds = await ImageFolderDataset.open(join(root, 'classes'), { size: 8, warn });
    const get = async (i: number) => (await ds.get(i)).image;
    expect(ds.channels).toBe(3);
    const near = (a: number[], b: number[], tol: number) => a.forEach((v, k) => expect(Math.abs(v - b[k])).toBeLessThanOrEqual(tol));
    near(pixel(await get(0), 8, 3, 4, 4), [200, 10, 10], 0); // PNG
    near(pixel(await get(1), 8, 3, 4, 4), [20, 200, 20], 4); // JPEG (lossy)
    near(pixel(await get(2), 8, 3, 4, 4), [10, 20, 220], 0); // lossless WebP
    near(pixel(await get(3), 8, 3, 2, 5), [100, 100, 100], 0); // gray replicated
    near(pixel(await get(4), 8, 3, 3, 3), [156, 156, 156], 1); // 16-bit 40000 -> 40000 / 257
    near(pixel(await get(5), 8, 3, 7, 7), [255, 255, 255], 0); // transparent -> white background
    const batch = await ds.getBatch([0, 5]);
    expect(batch.shape).toEqual([2, 8, 8, 3]);
    expect(Array.from(batch.labels)).toEqual([0, 1]);
    expect(batch.images[0]).toBeCloseTo(200 / 255, 6);
  });

  it('one channel on request, another background colour, and the three fit modes', async () => {
    const gray = await ImageFolderDataset.open(join(root, 'classes'), { size: [6, 10], channels: 1, background: '#000000', warn });
    expect([gray.height, gray.width, gray.channels]).toEqual([6, 10, 1]);
    expect((await gray.get(3)).image.length).toBe(60);
    expect(pixel((await gray.get(3)).image, 10, 1, 1, 1)).toEqual([100]);
    expect(pixel((await gray.get(5)).image, 10, 1, 1, 1)).toEqual([0]); // transparent -> black
    // bands.png is green | red | blue; 'cover' keeps the centre third, 'fill' squeezes all three,
    // 'contain' letterboxes with the background.
    const open = (fit: 'cover' | 'fill' | 'contain') => ImageFolderDataset.open(join(root, 'classes'), { size: 9, fit, background: '#000000', warn });
    const cover = (await (await open('cover')).get(6)).image;
    expect(pixel(cover, 9, 3, 4, 4)).toEqual([255, 0, 0]);
    // The resampling filter blends a little of the neighbouring band into the edge columns.
    for (const x of [0, 8]) {
      const [r, g, b] = pixel(cover, 9, 3, 4, x);
      expect(r).toBeGreaterThan(200);
      expect(g + b).toBeLessThan(50);
    }
    const fill = (await (await open('fill')).get(6)).image;
    const close = (a: number[], b: number[]) => a.forEach((v, k) => expect(Math.abs(v - b[k])).toBeLessThanOrEqual(3));
    close(pixel(fill, 9, 3, 0, 0), [0, 255, 0]);
    close(pixel(fill, 9, 3, 8, 8), [0, 0, 255]);
    const contain = (await (await open('contain')).get(6)).image;
    expect(pixel(contain, 9, 3, 0, 4)).toEqual([0, 0, 0]);
    expect(pixel(contain, 9, 3, 4, 0)[1]).toBeGreaterThan(200);
  });

  it("onError 'error' throws naming the corrupt file", async () => {
    const err = await ImageFolderDataset.open(join(root, 'classes'), { size: 8, onError: 'error', warn }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/cannot decode .*broken\.png [\s\S]*onError: 'skip'/);
    expect(err.file).toMatch(/broken\.png$/);
  });

  it("verify 'header': a body that fails later is reported once and replaced, or throws with onError 'error'", async () => {
    const dir = join(root, 'late');
    mkdirSync(join(dir, 'x'), { recursive: true });
    // A noisy image, so most of the file is the compressed body after the header.
    const noise = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
    await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toFile(join(dir, 'x', 'a.jpg'));
    await solid(join(dir, 'x', 'b.jpg'), 32, 32, [200, 100, 50], 'jpeg');
    const whole = readFileSync(join(dir, 'x', 'a.jpg'));
    writeFileSync(join(dir, 'x', 'a.jpg'), whole.subarray(0, Math.floor(whole.length * 0.5))); // header intact, body cut
    const local: string[] = [];
    const ds = await ImageFolderDataset.open(dir, { size: 4, verify: 'header', warn: (m) => local.push(m) });
    expect(ds.length).toBe(2);
    const first = await ds.get(0);
    expect(pixel(first.image, 4, 3, 1, 1).map((v) => Math.round(v / 10))).toEqual([20, 10, 5]); // b.jpg stands in
    await ds.get(0);
    expect(local.filter((m) => m.includes('a.jpg'))).toHaveLength(1);
    expect(ds.skipped.map((s) => s.file.split(/[\\/]/).pop())).toEqual(['a.jpg']);
    const strict = await ImageFolderDataset.open(dir, { size: 4, verify: 'header', onError: 'error', warn });
    await expect(strict.get(0)).rejects.toThrow(/cannot decode .*a\.jpg/);
    // A full check at open finds it up front.
    const checked = await ImageFolderDataset.open(dir, { size: 4, warn: () => undefined });
    expect(checked.length).toBe(1);
  });

  it('a flat folder is unlabeled', async () => {
    const dir = join(root, 'flat');
    mkdirSync(dir);
    await solid(join(dir, 'one.png'), 10, 10, [1, 2, 3], 'png');
    await solid(join(dir, 'two.webp'), 10, 10, [4, 5, 6], 'webp');
    const ds = await loadImageFolder({ dir, size: 5, warn });
    expect([ds.length, ds.numClasses, ds.classNames.length]).toEqual([2, 0, 0]);
    expect((await ds.get(1)).label).toBeUndefined();
    expect(Array.from((await ds.getBatch([0, 1])).labels)).toEqual([-1, -1]);
  });

  it('clear errors for a missing path, a file, an empty folder, a folder without images, bad options', async () => {
    await expect(ImageFolderDataset.open(join(root, 'nope'), { size: 8 })).rejects.toThrow(/image folder .*nope does not exist/);
    writeFileSync(join(root, 'file.png'), 'x');
    await expect(ImageFolderDataset.open(join(root, 'file.png'), { size: 8 })).rejects.toThrow(/is a file, not a folder/);
    mkdirSync(join(root, 'empty'));
    await expect(ImageFolderDataset.open(join(root, 'empty'), { size: 8 })).rejects.toThrow(/empty\/? is empty|empty is empty/);
    mkdirSync(join(root, 'texts', 'sub'), { recursive: true });
    writeFileSync(join(root, 'texts', 'a.txt'), 'x');
    await expect(ImageFolderDataset.open(join(root, 'texts'), { size: 8 })).rejects.toThrow(/holds no images with extensions \.jpg, \.jpeg, \.png, \.webp \(found: a\.txt, sub\)/);
    mkdirSync(join(root, 'allbad'));
    writeFileSync(join(root, 'allbad', 'z.png'), 'x');
    await expect(ImageFolderDataset.open(join(root, 'allbad'), { size: 8, warn })).rejects.toThrow(/1 of 1 image file\(s\) unreadable.*\n.*z\.png[\s\S]*No image could be read/);
    await expect(ImageFolderDataset.open(join(root, 'classes'), { size: 0 })).rejects.toThrow(/size \(height\) = 0/);
    await expect(ImageFolderDataset.open(join(root, 'classes'), { size: 8, fit: 'stretch' as never })).rejects.toThrow(/fit = "stretch"/);
    await expect(ImageFolderDataset.open(join(root, 'classes'), { size: 8, channels: 2 as never })).rejects.toThrow(/channels = 2/);
  });

  it('caches decoded images (a second read does not touch the file)', async () => {
    const dir = join(root, 'cache');
    mkdirSync(dir);
    await solid(join(dir, 'c.png'), 10, 10, [9, 9, 9], 'png');
    const ds = await ImageFolderDataset.open(dir, { size: 4, verify: 'header', warn });
    const a = await ds.get(0);
    writeFileSync(join(dir, 'c.png'), 'now corrupt');
    const b = await ds.get(0);
    expect(Array.from(b.image)).toEqual(Array.from(a.image));
    // get() hands out copies: changing one leaves the cache intact.
    b.image[0] = 123;
    expect((await ds.get(0)).image[0]).toBe(9);
  });
});

describe('ImageFolderDataset when files vanish', () => {
  it('gives up with one clear error after a few unreadable files in a row', async () => {
    const dir = tempDir('dino-folder-vanish-');
    for (let i = 0; i < 10; i++) await solid(join(dir, `${i}.png`), 4, 4, [i, i, i], 'png');
    const local: string[] = [];
    const ds = await ImageFolderDataset.open(dir, { size: 4, verify: 'header', cacheBytes: 0, warn: (m) => local.push(m) });
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `${i}.png`), 'gone');
    await expect(ds.get(2)).rejects.toThrow(/4 files in a row from item 2 cannot be decoded \(was the folder moved or deleted while in use\?\)/);
    expect(local).toHaveLength(4);
  });
});
