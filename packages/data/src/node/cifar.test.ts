import { mkdirSync, writeFileSync, unlinkSync } from 'node:fs';
import { tempDir } from '@dino-ts/core/testing';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../index';
import { loadCifar10, loadCifar100 } from './index';

/** A planar CIFAR image (1024 R, 1024 G, 1024 B) whose pixel (y, x, c) is a function of (seed, y, x, c). */
function planar(seed: number): Uint8Array {
  const out = new Uint8Array(3072);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out[c * 1024 + y * 32 + x] = (seed * 31 + y * 7 + x * 3 + c * 101) % 256;
  return out;
}

function hwcAt(img: Uint8Array, y: number, x: number, c: number): number {
  return img[(y * 32 + x) * 3 + c];
}

function records(labels: number[][], seeds: number[]): Buffer {
  return Buffer.concat(labels.map((l, k) => Buffer.concat([Buffer.from(l), planar(seeds[k])])));
}

function makeCifar10(root: string): { trainLabels: number[]; testLabels: number[] } {
  const dir = join(root, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  writeFileSync(join(dir, 'batches.meta.txt'), names.join('\n') + '\n\n');
  const trainLabels: number[] = [];
  for (let b = 1; b <= 5; b++) {
    const labels = [(b * 3) % 10, (b * 7) % 10];
    trainLabels.push(...labels);
    writeFileSync(join(dir, `data_batch_${b}.bin`), records(labels.map((l) => [l]), [b * 10, b * 10 + 1]));
  }
  const testLabels = [9, 0, 4];
  writeFileSync(join(dir, 'test_batch.bin'), records(testLabels.map((l) => [l]), [100, 101, 102]));
  return { trainLabels, testLabels };
}

describe('CIFAR', () => {
  it('CIFAR-10: reads all five training batches and the test batch, planar to HWC', async () => {
    const root = tempDir('dino-cifar10-');
    const { trainLabels, testLabels } = makeCifar10(root);
    // Either the extracted folder or its parent.
    const train = await loadCifar10({ dir: root, split: 'train' });
    const test = await loadCifar10({ dir: join(root, 'cifar-10-batches-bin'), split: 'test' });
    expect([train.length, test.length]).toEqual([10, 3]);
    expect([train.height, train.width, train.channels, train.numClasses]).toEqual([32, 32, 3, 10]);
    expect(train.classNames[9]).toBe('truck');
    expect(Array.from(train.rawLabels()!)).toEqual(trainLabels);
    expect(Array.from(test.rawLabels()!)).toEqual(testLabels);
    // Item 3 is record 1 of data_batch_2 (seed 21).
    const img = train.getSync(3).image;
    const ref = planar(21);
    for (const [y, x, c] of [[0, 0, 0], [5, 17, 1], [31, 31, 2], [12, 3, 0]]) {
      expect(hwcAt(img as Uint8Array, y, x, c)).toBe(ref[c * 1024 + y * 32 + x]);
    }
    expect(train.name).toBe('cifar10/train');
  });

  it('CIFAR-100: coarse and fine labels from the two label bytes', async () => {
    const root = tempDir('dino-cifar100-');
    const dir = join(root, 'cifar-100-binary');
    mkdirSync(dir);
    writeFileSync(join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, k) => `fine${k}`).join('\n'));
    writeFileSync(join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, k) => `coarse${k}`).join('\n'));
    const labels = [[4, 30], [19, 99], [0, 0]];
    writeFileSync(join(dir, 'train.bin'), records(labels, [1, 2, 3]));
    writeFileSync(join(dir, 'test.bin'), records([[7, 55]], [4]));
    const fine = await loadCifar100({ dir: root });
    const coarse = await loadCifar100({ dir: root, labelType: 'coarse' });
    const test = await loadCifar100({ dir, split: 'test' });
    expect(Array.from(fine.rawLabels()!)).toEqual([30, 99, 0]);
    expect(Array.from(coarse.rawLabels()!)).toEqual([4, 19, 0]);
    expect([fine.numClasses, coarse.numClasses]).toEqual([100, 20]);
    expect(coarse.classNames[19]).toBe('coarse19');
    expect(test.getSync(0).label).toBe(55);
    expect(hwcAt(fine.getSync(1).image as Uint8Array, 9, 4, 2)).toBe(planar(2)[2048 + 9 * 32 + 4]);
  });

  it('names the file and the fix when files are missing or malformed', async () => {
    const root = tempDir('dino-cifar-bad-');
    makeCifar10(root);
    const dir = join(root, 'cifar-10-batches-bin');
    await expect(loadCifar10({ dir: join(root, 'absent') })).rejects.toThrow(/folder .*absent does not exist: download https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz/);
    writeFileSync(join(dir, 'data_batch_3.bin'), Buffer.alloc(3073 * 2 - 5));
    const err = await loadCifar10({ dir }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/data_batch_3\.bin has 6141 bytes, not a positive multiple of the 3073-byte record/);
    expect(err.file).toMatch(/data_batch_3\.bin$/);
    writeFileSync(join(dir, 'data_batch_3.bin'), records([[10]], [0]));
    await expect(loadCifar10({ dir })).rejects.toThrow(/data_batch_3\.bin: record 0 has label 10, not below 10/);
    unlinkSync(join(dir, 'data_batch_3.bin'));
    await expect(loadCifar10({ dir })).rejects.toThrow(/data_batch_3\.bin is missing: .*binary version of CIFAR-10/);
    writeFileSync(join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    await expect(loadCifar10({ dir, split: 'test' })).rejects.toThrow(/batches\.meta\.txt lists 2 class names, expected 10/);
    unlinkSync(join(dir, 'batches.meta.txt'));
    await expect(loadCifar10({ dir, split: 'test' })).rejects.toThrow(/batches\.meta\.txt is missing/);
    await expect(loadCifar100({ dir: root, labelType: 'medium' as never })).rejects.toThrow(/labelType = "medium"/);
    await expect(loadCifar100({ dir: root })).rejects.toThrow(/fine_label_names\.txt is missing: .*cifar-100-binary\.tar\.gz/);
  });
});
