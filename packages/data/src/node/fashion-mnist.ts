// Node only (node:path, and the files through ./files): exported from '@dino-ts/data/node'.
import { join } from 'node:path';
import { checkChoice, withDefaults } from '@dino-ts/core';
import { ArrayDataset } from '../array-dataset';
import { DataError } from '../errors';
import { allInOrder, firstExisting, isDirectory } from './files';
import { FASHION_MNIST_CLASSES } from '../fashion-mnist-classes';
import { IDX_MAGIC } from '../parse-idx';
import { readIdx } from './read-idx';

/** Where Debian's `dataset-fashion-mnist` package installs the IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface IdxDatasetOptions {
  name: string;
  imagesFile: string;
  labelsFile: string;
  classNames: readonly string[];
}

/**
 * A labelled image data set from an IDX image file (magic 2051, [N, rows, cols]) and an IDX
 * label file (magic 2049, [N]), .gz or raw: MNIST, Fashion-MNIST, KMNIST and friends.
 * Images are grayscale (1 channel).
 */
export async function loadIdxDataset(opts: IdxDatasetOptions): Promise<ArrayDataset> {
  const [images, labels] = await allInOrder([
    readIdx(opts.imagesFile, IDX_MAGIC.images),
    readIdx(opts.labelsFile, IDX_MAGIC.labels),
  ]);
  if (images.dims.length !== 3) {
    throw new DataError(
      `${opts.imagesFile} has dimensions [${images.dims.join(', ')}], expected 3 ([count, rows, cols]) for an IDX image file`,
      opts.imagesFile,
    );
  }
  if (labels.dims.length !== 1) {
    throw new DataError(
      `${opts.labelsFile} has dimensions [${labels.dims.join(', ')}], expected 1 ([count]) for an IDX label file`,
      opts.labelsFile,
    );
  }
  const [n, rows, cols] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DataError(
      `${opts.labelsFile} holds ${labels.dims[0]} labels but ${opts.imagesFile} holds ${n} images: ` +
        'the two files must come from the same split (train with train, t10k with t10k)',
      opts.labelsFile,
    );
  }
  if (rows === 0 || cols === 0) {
    throw new DataError(`${opts.imagesFile} has empty images (${rows} x ${cols})`, opts.imagesFile);
  }
  const k = opts.classNames.length;
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= k) {
      throw new DataError(`${opts.labelsFile}: label ${labels.data[i]} of item ${i} is not a class index below ${k}`, opts.labelsFile);
    }
  }
  return new ArrayDataset({
    name: opts.name,
    images: images.data,
    height: rows,
    width: cols,
    channels: 1,
    labels: labels.data,
    classNames: opts.classNames,
  });
}

export interface FashionMnistOptions {
  /** Folder with the IDX files (default: Debian's install location, FASHION_MNIST_DIR). */
  dir?: string;
  /** 'train' (60000 images) or 'test' (10000). */
  split?: 'train' | 'test';
}

export const FASHION_MNIST_DEFAULTS = { dir: FASHION_MNIST_DIR, split: 'train' as 'train' | 'test' };

function idxFile(dir: string, prefix: string, kind: 'images-idx3' | 'labels-idx1'): string {
  const base = `${prefix}-${kind}-ubyte`;
  const dotted = `${prefix}-${kind.replace('-', '.')}-ubyte`;
  const found = firstExisting([base + '.gz', base, dotted + '.gz', dotted].map((f) => join(dir, f)));
  if (!found) {
    throw new DataError(
      `Fashion-MNIST file ${base}.gz (or ${base}) is missing in ${dir}: install the Debian package with ` +
        '`apt-get install dataset-fashion-mnist`, or pass { dir } naming a folder that holds ' +
        'train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz',
      join(dir, base + '.gz'),
    );
  }
  return found;
}

/**
 * Fashion-MNIST (28 x 28 grayscale, 10 classes) from its IDX files, gzipped or not.
 *
 * @example
 * const train = await loadFashionMnist({ split: 'train' }); // 60000 items, 28x28x1
 * const test = await loadFashionMnist({ split: 'test', dir: '../data/fashion' });
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<ArrayDataset> {
  const { dir, split } = withDefaults(FASHION_MNIST_DEFAULTS, options);
  checkChoice('split', split, ['train', 'test']);
  if (!isDirectory(dir)) {
    throw new DataError(
      `Fashion-MNIST folder ${dir} does not exist: install the Debian package with ` +
        '`apt-get install dataset-fashion-mnist` (it fills ' + FASHION_MNIST_DIR + '), or pass { dir } naming a ' +
        'folder with the IDX files (train-images-idx3-ubyte.gz, ...)',
      dir,
    );
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  return loadIdxDataset({
    name: `fashion-mnist/${split}`,
    imagesFile: idxFile(dir, prefix, 'images-idx3'),
    labelsFile: idxFile(dir, prefix, 'labels-idx1'),
    classNames: FASHION_MNIST_CLASSES,
  });
}
