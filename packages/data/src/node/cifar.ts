// Node only (node:fs, node:path): exported from '@dino-ts/data/node'.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkChoice } from '@dino-ts/core';
import { ArrayDataset } from '../array-dataset';
import { DataError } from '../errors';
import { allInOrder, isDirectory, regularFileSize } from './files';

/** Bytes of one CIFAR image: 32 x 32 x 3, stored channel by channel (all R, all G, all B). */
const IMAGE_BYTES = 32 * 32 * 3;

export interface CifarOptions {
  /**
   * The extracted binary version: the folder `cifar-10-batches-bin` / `cifar-100-binary`, or a
   * folder that contains it.
   */
  dir: string;
  /** 'train' (50000 images) or 'test' (10000). */
  split?: 'train' | 'test';
}

export interface Cifar100Options extends CifarOptions {
  /** Which label byte to use: the 100 fine classes or the 20 coarse superclasses. */
  labelType?: 'fine' | 'coarse';
}

export const CIFAR_DEFAULTS = { split: 'train' as 'train' | 'test', labelType: 'fine' as 'fine' | 'coarse' };

const SOURCES = {
  cifar10: { sub: 'cifar-10-batches-bin', url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz' },
  cifar100: { sub: 'cifar-100-binary', url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz' },
};

function resolveDir(dir: string, which: keyof typeof SOURCES): string {
  const { sub, url } = SOURCES[which];
  if (!isDirectory(dir)) {
    throw new DataError(
      `${which === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} folder ${dir} does not exist: download ${url}, extract it ` +
        `(tar xzf), and pass { dir } naming the ${sub} folder`,
      dir,
    );
  }
  return isDirectory(join(dir, sub)) ? join(dir, sub) : dir;
}

/**
 * Largest CIFAR file read: the biggest real one (CIFAR-100's train.bin) is 154 MB; a batch file
 * is whole records, so anything far larger is not CIFAR and is refused before it is read.
 */
const MAX_CIFAR_FILE = 2 ** 30;

async function readRequired(path: string, which: keyof typeof SOURCES, maxBytes = MAX_CIFAR_FILE): Promise<Buffer> {
  if (!existsSync(path)) {
    const { sub, url } = SOURCES[which];
    throw new DataError(
      `${path} is missing: the folder must hold the binary version of ${which === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} ` +
        `(download ${url}, extract it and pass the ${sub} folder)`,
      path,
    );
  }
  const size = await regularFileSize(path, `${which === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} file`);
  if (size > maxBytes) throw new DataError(`${path} is ${size} bytes, more than the ${maxBytes} a CIFAR file may have: it is not part of the binary version`, path);
  try {
    return await readFile(path);
  } catch (e) {
    throw new DataError(`cannot read ${path}: ${(e as Error).message}`, path);
  }
}

/** Class names from a text file, one a line (blank lines ignored). */
async function readNames(path: string, which: keyof typeof SOURCES, expected: number): Promise<string[]> {
  const names = (await readRequired(path, which, 1 << 20))
    .toString('utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== expected) {
    throw new DataError(`${path} lists ${names.length} class names, expected ${expected} (one a line)`, path);
  }
  return names;
}

/**
 * Decodes CIFAR binary records into HWC bytes and labels. Each record is `labelBytes` label
 * bytes then 3072 image bytes (1024 red, 1024 green, 1024 blue, rows top to bottom).
 */
function decodeRecords(
  files: { path: string; bytes: Buffer }[],
  labelBytes: number,
  labelOffset: number,
  numClasses: number,
): { images: Uint8Array; labels: Uint8Array } {
  const record = labelBytes + IMAGE_BYTES;
  let total = 0;
  for (const { path, bytes } of files) {
    if (bytes.length === 0 || bytes.length % record !== 0) {
      throw new DataError(
        `${path} has ${bytes.length} bytes, not a positive multiple of the ${record}-byte record ` +
          `(${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + 3072 pixels): the file is truncated or not a CIFAR binary batch`,
        path,
      );
    }
    total += bytes.length / record;
  }
  const images = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Uint8Array(total);
  let n = 0;
  for (const { path, bytes } of files) {
    const count = bytes.length / record;
    for (let r = 0; r < count; r++, n++) {
      const src = r * record;
      const label = bytes[src + labelOffset];
      if (label >= numClasses) {
        throw new DataError(`${path}: record ${r} has label ${label}, not below ${numClasses}: the file is corrupt`, path);
      }
      labels[n] = label;
      const px = src + labelBytes;
      const dst = n * IMAGE_BYTES;
      for (let p = 0; p < 1024; p++) {
        images[dst + 3 * p] = bytes[px + p];
        images[dst + 3 * p + 1] = bytes[px + 1024 + p];
        images[dst + 3 * p + 2] = bytes[px + 2048 + p];
      }
    }
  }
  return { images, labels };
}

/**
 * CIFAR-10 from its binary version (`data_batch_1.bin` .. `data_batch_5.bin`, `test_batch.bin`,
 * `batches.meta.txt`): 32 x 32 RGB, 10 classes.
 *
 * @example
 * const train = await loadCifar10({ dir: '../data/cifar-10-batches-bin', split: 'train' });
 */
export async function loadCifar10(options: CifarOptions): Promise<ArrayDataset> {
  const split = options.split ?? CIFAR_DEFAULTS.split;
  checkChoice('split', split, ['train', 'test']);
  const dir = resolveDir(options.dir, 'cifar10');
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ['test_batch.bin'];
  const classNames = await readNames(join(dir, 'batches.meta.txt'), 'cifar10', 10);
  const files = await allInOrder(
    names.map(async (f) => ({ path: join(dir, f), bytes: await readRequired(join(dir, f), 'cifar10') })),
  );
  const { images, labels } = decodeRecords(files, 1, 0, 10);
  return new ArrayDataset({ name: `cifar10/${split}`, images, height: 32, width: 32, channels: 3, labels, classNames });
}

/**
 * CIFAR-100 from its binary version (`train.bin`, `test.bin`, `fine_label_names.txt`,
 * `coarse_label_names.txt`); each record carries a coarse then a fine label byte.
 *
 * @example
 * const test = await loadCifar100({ dir: '../data/cifar-100-binary', split: 'test', labelType: 'coarse' });
 */
export async function loadCifar100(options: Cifar100Options): Promise<ArrayDataset> {
  const split = options.split ?? CIFAR_DEFAULTS.split;
  const labelType = options.labelType ?? CIFAR_DEFAULTS.labelType;
  checkChoice('split', split, ['train', 'test']);
  checkChoice('labelType', labelType, ['fine', 'coarse']);
  const dir = resolveDir(options.dir, 'cifar100');
  const numClasses = labelType === 'fine' ? 100 : 20;
  const classNames = await readNames(join(dir, `${labelType}_label_names.txt`), 'cifar100', numClasses);
  const path = join(dir, `${split}.bin`);
  const bytes = await readRequired(path, 'cifar100');
  const { images, labels } = decodeRecords([{ path, bytes }], 2, labelType === 'coarse' ? 0 : 1, numClasses);
  return new ArrayDataset({
    name: `cifar100-${labelType}/${split}`,
    images,
    height: 32,
    width: 32,
    channels: 3,
    labels,
    classNames,
  });
}
