/**
 * Data files that would cost memory out of proportion or count an image twice: gzip that
 * inflates past what its IDX header declares, headers that declare gigabytes, pipes and devices
 * in place of files, and image folders whose links loop or lead to the same file twice (and so
 * into both splits).
 */
import { linkSync, mkdirSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@dino-ts/core/testing';
import { DataError } from '../index';
import { ImageFolderDataset, openDatasetSplits, readIdx } from './index';
import { IDX_MAX_BYTES } from './read-idx';

function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, Buffer.from(data)]);
}

describe('readIdx: memory bounded by the header', () => {
  it('stops inflating a gzip bomb just past the size its header declares', async () => {
    const dir = tempDir('dino-idx-');
    const path = join(dir, 'bomb-idx3-ubyte.gz');
    // 10 images declared, 256 MiB of zeros behind them: about 256 KB of gzip.
    writeFileSync(path, gzipSync(Buffer.concat([idx(2051, [10, 28, 28], new Uint8Array(7840)), Buffer.alloc(256 * 2 ** 20)])));
    const heap = process.memoryUsage().arrayBuffers;
    const t0 = Date.now();
    const err = await readIdx(path, 2051).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/inflates to more than the 7856 bytes its header \[10, 28, 28\] declares/);
    expect(process.memoryUsage().arrayBuffers - heap).toBeLessThan(64 * 2 ** 20);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('refuses a header declaring more than the limit before allocating anything', async () => {
    const dir = tempDir('dino-idx-');
    const gz = join(dir, 'huge-idx3-ubyte.gz');
    writeFileSync(gz, gzipSync(idx(2051, [1_000_000, 1000, 1000], new Uint8Array(100))));
    await expect(readIdx(gz, 2051)).rejects.toThrow(new RegExp(`declares 1000000000016 bytes, more than the ${IDX_MAX_BYTES}`));
    await expect(readIdx(gz, 2051, { maxBytes: 1000 })).rejects.toThrow(/more than the 1000 an IDX file may have/);
    const raw = join(dir, 'raw-idx3-ubyte');
    writeFileSync(raw, idx(2051, [2, 28, 28], new Uint8Array(1568)));
    await expect(readIdx(raw, 2051, { maxBytes: 100 })).rejects.toThrow(/is 1584 bytes, more than the 100/);
    expect((await readIdx(raw, 2051)).dims).toEqual([2, 28, 28]);
    expect((await readIdx(gz.replace('huge', 'fine'), 2051).catch((e) => e)).message).toMatch(/cannot read/);
  });

  it('refuses pipes, devices and folders without reading them', async () => {
    const dir = tempDir('dino-idx-');
    const fifo = join(dir, 'pipe-idx3-ubyte.gz');
    spawnSync('mkfifo', [fifo]);
    await expect(readIdx(fifo, 2051)).rejects.toThrow(/is not a regular file \(a pipe or a device\)/);
    symlinkSync('/dev/zero', join(dir, 'zero-idx3-ubyte'));
    await expect(readIdx(join(dir, 'zero-idx3-ubyte'), 2051)).rejects.toThrow(/is not a regular file/);
    mkdirSync(join(dir, 'dir-idx3-ubyte'));
    await expect(readIdx(join(dir, 'dir-idx3-ubyte'), 2051)).rejects.toThrow(/is a folder/);
  });
});

async function png(file: string, v: number): Promise<void> {
  await sharp(Buffer.alloc(6 * 6 * 3, v), { raw: { width: 6, height: 6, channels: 3 } }).png().toFile(file);
}

describe('image folders: each file once, however many paths lead to it', () => {
  it('follows a link loop once, and lists a file reached by links (symbolic or hard) once', async () => {
    const root = tempDir('dino-links-');
    mkdirSync(join(root, 'a', 'deep'), { recursive: true });
    mkdirSync(join(root, 'b'));
    for (let i = 0; i < 4; i++) await png(join(root, 'a', `${i}.png`), 10 + 20 * i);
    await png(join(root, 'a', 'deep', 'd.png'), 200);
    await png(join(root, 'b', 'b0.png'), 222);
    symlinkSync('..', join(root, 'a', 'deep', 'up')); // a loop: a/deep/up/deep/up/...
    symlinkSync(join(root, 'a'), join(root, 'b', 'alias')); // the class a again, inside b
    symlinkSync(join(root, 'a', '0.png'), join(root, 'b', 'link.png')); // a file of a, in b
    linkSync(join(root, 'a', '1.png'), join(root, 'b', 'hard.png')); // the same inode
    const warnings: string[] = [];
    const ds = await ImageFolderDataset.open(root, { size: 6, warn: (m) => warnings.push(m) });
    expect(ds.classNames).toEqual(['a', 'b']);
    // a: 0..3 and deep/d; b: only b0 is its own.
    expect(ds.length).toBe(6);
    expect(ds.files.map((f) => f.slice(root.length + 1)).sort()).toEqual(['a/0.png', 'a/1.png', 'a/2.png', 'a/3.png', 'a/deep/d.png', 'b/b0.png']);
    expect(warnings.join('\n')).toMatch(/image path\(s\) lead to a file already listed \(symbolic or hard links\) and are left out/);
  });

  it('a flat folder that links to itself ends, with its images once', async () => {
    const root = tempDir('dino-links-');
    await png(join(root, 'x.png'), 5);
    await png(join(root, 'y.png'), 50);
    symlinkSync('.', join(root, 'self'));
    const ds = await ImageFolderDataset.open(root, { size: 6, layout: 'flat', warn: () => {} });
    expect(ds.length).toBe(2);
  });

  it('the held-out split never holds a training image: byte copies are dropped from it, with a warning', async () => {
    const root = tempDir('dino-copies-');
    for (let i = 0; i < 10; i++) await png(join(root, `${i}.png`), 7 * i);
    for (let i = 0; i < 10; i++) copyFileSync(join(root, `${i}.png`), join(root, `copy${i}.png`));
    const warnings: string[] = [];
    const { train, test } = await openDatasetSplits({ kind: 'folder', root, size: 6, layout: 'flat', warn: (m) => warnings.push(m) }, { seed: 3, folderHeldOut: 0.5 });
    const pixel = async (d: typeof train, i: number) => (await d.get(i)).image[0];
    const trainPixels = new Set(await Promise.all(Array.from({ length: train.length }, (_, i) => pixel(train, i))));
    const testPixels = await Promise.all(Array.from({ length: test.length }, (_, i) => pixel(test, i)));
    expect(test.length).toBeGreaterThan(0);
    expect(test.length).toBeLessThan(10);
    for (const p of testPixels) expect(trainPixels.has(p)).toBe(false);
    expect(warnings.join('\n')).toMatch(/held-out image\(s\) are also training images \(copies or links, e\.g\. .* repeats .*\) and are left out of the held-out split/);
  });
});
