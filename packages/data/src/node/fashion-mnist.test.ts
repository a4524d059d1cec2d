import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '@dino-ts/core/testing';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, FASHION_MNIST_CLASSES, channelStats, parseIdx } from '../index';
import { FASHION_MNIST_DIR, loadFashionMnist } from './index';

/** An IDX file: big-endian magic and dimensions, then `data`. */
function idx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, data]);
}

function images(n: number, rows = 28, cols = 28): Uint8Array {
  const d = new Uint8Array(n * rows * cols);
  for (let i = 0; i < d.length; i++) d[i] = (i * 7) % 256;
  return d;
}

function writeSet(dir: string, prefix: string, img: Uint8Array, lab: Uint8Array, gz = true): void {
  mkdirSync(dir, { recursive: true });
  const w = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, gz ? name + '.gz' : name), gz ? gzipSync(bytes) : bytes);
  w(`${prefix}-images-idx3-ubyte`, img);
  w(`${prefix}-labels-idx1-ubyte`, lab);
}

const present = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

describe('Fashion-MNIST', () => {
  it.skipIf(!present)(`loads the Debian files from ${FASHION_MNIST_DIR} (skipped when dataset-fashion-mnist is not installed)`, async () => {
    // dir: undefined (an unset --data flag forwarded) must mean the default folder.
    const [train, test] = await Promise.all([loadFashionMnist({ split: 'train', dir: undefined }), loadFashionMnist({ split: 'test' })]);
    expect([train.length, test.length]).toEqual([60000, 10000]);
    expect([train.height, train.width, train.channels, train.numClasses]).toEqual([28, 28, 1, 10]);
    expect(train.classNames).toEqual(FASHION_MNIST_CLASSES);
    // Labels and pixels read independently of the IDX parser (gunzip, skip the 8/16-byte header).
    const rawLabels = (split: string) => gunzipSync(readFileSync(join(FASHION_MNIST_DIR, `${split}-labels-idx1-ubyte.gz`))).subarray(8);
    const trainLabels = rawLabels('train'), testLabels = rawLabels('t10k');
    const first = (ds: typeof train) => Array.from({ length: 10 }, (_, i) => ds.getSync(i).label);
    expect(first(train)).toEqual(Array.from(trainLabels.subarray(0, 10)));
    expect(first(test)).toEqual(Array.from(testLabels.subarray(0, 10)));
    // The well-known first training label: 9, 'Ankle boot'.
    expect(train.classNames[train.getSync(0).label!]).toBe('Ankle boot');
    expect(train.getSync(59999).label).toBe(trainLabels[59999]);
    const rawImages = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')));
    expect(Buffer.from(test.getSync(9999).image).equals(rawImages.subarray(16 + 9999 * 784, 16 + 10000 * 784))).toBe(true);
    // Class balance: 6000 training images per class.
    const counts = new Array(10).fill(0);
    for (const l of train.rawLabels()!) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(6000));
    // The published normalisation constants of the training set: mean 0.2860, std 0.3530.
    const { mean, std } = await channelStats(train);
    expect(mean[0]).toBeCloseTo(0.286, 3);
    expect(std[0]).toBeCloseTo(0.353, 3);
  });

  it('reads gzipped and raw IDX files alike', async () => {
    const dir = tempDir('dino-fm-');
    const lab = new Uint8Array([3, 1, 4, 1, 5]);
    writeSet(join(dir, 'gz'), 'train', idx(2051, [5, 28, 28], images(5)), idx(2049, [5], lab));
    writeSet(join(dir, 'raw'), 't10k', idx(2051, [5, 28, 28], images(5)), idx(2049, [5], lab), false);
    const a = await loadFashionMnist({ dir: join(dir, 'gz'), split: 'train' });
    const b = await loadFashionMnist({ dir: join(dir, 'raw'), split: 'test' });
    for (const ds of [a, b]) {
      expect(ds.length).toBe(5);
      expect(Array.from({ length: 5 }, (_, i) => ds.getSync(i).label)).toEqual(Array.from(lab));
      expect(Array.from(ds.getSync(2).image.subarray(0, 3))).toEqual(Array.from(images(5).subarray(2 * 784, 2 * 784 + 3)));
    }
    expect(a.name).toBe('fashion-mnist/train');
  });

  it('names the file and the fix for wrong magic, truncation, count mismatch, bad labels and bad gzip', async () => {
    const dir = tempDir('dino-fm-bad-');
    const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
      ['swapped', idx(2049, [5], new Uint8Array(5)), idx(2051, [5, 28, 28], images(5)), /train-images-idx3-ubyte\.gz has magic number 2049 \(a label file\), expected 2051.*swapped/],
      ['truncated', idx(2051, [5, 28, 28], images(4)), idx(2049, [5], new Uint8Array(5)), /train-images-idx3-ubyte\.gz is truncated: .*needs 3920 data bytes but the file has 3136/],
      ['header', new Uint8Array([0, 0, 8, 3, 0, 0]), idx(2049, [5], new Uint8Array(5)), /train-images-idx3-ubyte\.gz is truncated inside its header/],
      ['mismatch', idx(2051, [5, 28, 28], images(5)), idx(2049, [4], new Uint8Array(4)), /train-labels-idx1-ubyte\.gz holds 4 labels but .*train-images-idx3-ubyte\.gz holds 5 images/],
      ['rank', idx(2051 - 3 + 2, [5, 784], images(5)), idx(2049, [5], new Uint8Array(5)), /magic number 2050, expected 2051/],
      ['label', idx(2051, [5, 28, 28], images(5)), idx(2049, [5], new Uint8Array([0, 1, 12, 0, 0])), /label 12 of item 2 is not a class index below 10/],
      ['extra', idx(2051, [5, 28, 28], images(6)), idx(2049, [5], new Uint8Array(5)), /784 bytes beyond the 3920/],
    ];
    for (const [name, img, lab, message] of cases) {
      writeSet(join(dir, name), 'train', img, lab);
      const err = await loadFashionMnist({ dir: join(dir, name) }).catch((e) => e);
      expect(err, name).toBeInstanceOf(DataError);
      expect(err.message, name).toMatch(message);
    }
    mkdirSync(join(dir, 'badgz'));
    writeFileSync(join(dir, 'badgz', 'train-images-idx3-ubyte.gz'), gzipSync(idx(2051, [5, 28, 28], images(5))).subarray(0, 50));
    writeFileSync(join(dir, 'badgz', 'train-labels-idx1-ubyte.gz'), gzipSync(idx(2049, [5], new Uint8Array(5))));
    await expect(loadFashionMnist({ dir: join(dir, 'badgz') })).rejects.toThrow(/train-images-idx3-ubyte\.gz is not a valid gzip file.*truncated/);
  });

  it('explains how to get the data when the folder or a file is missing', async () => {
    const dir = tempDir('dino-fm-missing-');
    await expect(loadFashionMnist({ dir: join(dir, 'nope') })).rejects.toThrow(/does not exist: install .*apt-get install dataset-fashion-mnist.*\{ dir \}/);
    writeSet(dir, 'train', idx(2051, [1, 28, 28], images(1)), idx(2049, [1], new Uint8Array(1)));
    await expect(loadFashionMnist({ dir, split: 'test' })).rejects.toThrow(/t10k-images-idx3-ubyte\.gz \(or t10k-images-idx3-ubyte\) is missing in .*apt-get install dataset-fashion-mnist/);
    await expect(loadFashionMnist({ dir, split: 'val' as never })).rejects.toThrow(/split = "val"/);
  });

  it('parseIdx checks the header against the payload', () => {
    expect(parseIdx(idx(2049, [3], new Uint8Array([1, 2, 3])), 'x', 2049).dims).toEqual([3]);
    expect(() => parseIdx(new Uint8Array(2), 'short.idx', 2049)).toThrow(/short\.idx has 2 bytes, too short for an IDX label file/);
  });
});
