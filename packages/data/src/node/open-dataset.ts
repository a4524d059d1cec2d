// Node only: every kind but 'shapes' opens files (and 'folder' decodes with sharp), so this lives
// in '@dino-ts/data/node'; in a browser construct ShapesDataset (or an ArrayDataset) directly.
import { checkChoice, checkInt, checkNumber } from '@dino-ts/core';
import { loadCifar10, loadCifar100, type Cifar100Options, type CifarOptions } from './cifar';
import { loadFashionMnist, type FashionMnistOptions } from './fashion-mnist';
import { ImageFolderDataset, type ImageFolderOptions } from './image-folder';
import { SHAPES_DEFAULTS, ShapesDataset, type ShapesOptions } from '../shapes/shapes-dataset';
import { indicesInBase, randomSubset, splitDataset, subset } from '../subset';
import { DataError } from '../errors';
import type { Dataset } from '../types';

/** Any data set of this package, by kind, with that kind's options. */
export type DatasetSpec =
  | ({ kind: 'shapes' } & ShapesOptions)
  | ({ kind: 'fashion-mnist' } & FashionMnistOptions)
  | ({ kind: 'cifar10' } & CifarOptions)
  | ({ kind: 'cifar100' } & Cifar100Options)
  | ({ kind: 'folder'; root: string } & ImageFolderOptions);

export const DATASET_KINDS = ['shapes', 'fashion-mnist', 'cifar10', 'cifar100', 'folder'] as const;

/**
 * Opens a data set from a plain description (what a CLI or a config file holds).
 *
 * @example
 * const ds = await openDataset({ kind: 'shapes', size: 32, length: 10000 });
 * const fm = await openDataset({ kind: 'fashion-mnist', split: 'test' });
 */
export async function openDataset(spec: DatasetSpec): Promise<Dataset> {
  checkChoice('kind', spec.kind, DATASET_KINDS);
  switch (spec.kind) {
    case 'shapes': {
      const { kind: _kind, ...o } = spec;
      return new ShapesDataset(o);
    }
    case 'fashion-mnist':
      return loadFashionMnist(spec);
    case 'cifar10':
      return loadCifar10(spec);
    case 'cifar100':
      return loadCifar100(spec);
    case 'folder': {
      const { kind: _kind, root, ...o } = spec;
      return ImageFolderDataset.open(root, o);
    }
  }
}

// Omit over each member of a union (the built-in Omit would merge the members first).
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A data set to open as a train and a held-out split: a `DatasetSpec` less what
 * `openDatasetSplits` decides itself (the split of the files, the shapes' length and seed).
 */
export type SplitsSpec = OmitEach<DatasetSpec, 'split' | 'length' | 'seed'>;

export interface SplitsOptions {
  /**
   * Training items. Shapes: the length of the training set (default 10000). Other kinds: at most
   * this many, a seeded random subset (undefined or 0: all).
   */
  trainSize?: number;
  /** Held-out items, as `trainSize` (the shapes' default: 1000). */
  testSize?: number;
  /** The one seed of everything random: the shapes' images, the folder's held-out cut, the subsets. Default 0. */
  seed?: number;
  /** Fraction of an image folder held out (a folder has no test split; at least one image). Default 0.1. */
  folderHeldOut?: number;
}

export const SPLITS_DEFAULTS = { shapesTestSize: 1000, seed: 0, folderHeldOut: 0.1 };

export interface DatasetSplits {
  train: Dataset;
  /** Held out from training (labels; masks where `hasMasks`), for k-NN, probes and reports. */
  test: Dataset;
  /** True when items carry object masks (the shapes), for the attention-mask evaluation. */
  hasMasks: boolean;
}

/**
 * Opens a train and a held-out split of one data set, disjoint: the shapes from two seeds
 * (2 seed + 1 and 2 seed + 2, so no image is in both), Fashion-MNIST and CIFAR from their train
 * and test files, an image folder cut by `splitDataset` (`folderHeldOut` of it held out). Sizes
 * other than the shapes' are caps met by seeded random subsets (seed for train, seed + 1 for
 * the held-out split).
 *
 * @example
 * const { train, test } = await openDatasetSplits({ kind: 'cifar10', dir: './cifar' }, { testSize: 1000, seed: 1 });
 */
export async function openDatasetSplits(spec: SplitsSpec, options: SplitsOptions = {}): Promise<DatasetSplits> {
  checkChoice('kind', spec.kind, DATASET_KINDS);
  const seed = options.seed ?? SPLITS_DEFAULTS.seed;
  checkInt('seed', seed, 0);
  for (const [name, size] of [['trainSize', options.trainSize], ['testSize', options.testSize]] as const) {
    if (size !== undefined) checkInt(name, size, 0);
  }
  switch (spec.kind) {
    case 'shapes': {
      const train = await openDataset({ ...spec, length: options.trainSize || SHAPES_DEFAULTS.length, seed: seed * 2 + 1 });
      const test = await openDataset({ ...spec, length: options.testSize || SPLITS_DEFAULTS.shapesTestSize, seed: seed * 2 + 2 });
      return { train, test, hasMasks: true };
    }
    case 'folder': {
      const fraction = options.folderHeldOut ?? SPLITS_DEFAULTS.folderHeldOut;
      checkNumber('folderHeldOut', fraction, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
      const all = (await openDataset(spec)) as ImageFolderDataset;
      const [rest, cut] = splitDataset(all, Math.max(1, Math.round(all.length * fraction)), seed);
      const heldOut = await withoutTrainingImages(all, rest, cut, spec.warn ?? ((m: string) => console.warn(m)));
      return capped(rest, heldOut, options, seed);
    }
    default: {
      const train = await openDataset({ ...spec, split: 'train' });
      const test = await openDataset({ ...spec, split: 'test' });
      return capped(train, test, options, seed);
    }
  }
}

/**
 * The held-out cut `heldOut` without the images that are also in `train`: a held-out image that
 * is a training image (the same file through a link, or a byte-identical copy) would let the
 * k-NN find itself and inflate every score. Such images are dropped from the held-out split,
 * with a warning naming one; if none is left, the folder cannot be evaluated at all.
 */
async function withoutTrainingImages(all: ImageFolderDataset, train: Dataset, heldOut: Dataset, warn: (m: string) => void): Promise<Dataset> {
  const trainIdx = indicesInBase(train), heldIdx = indicesInBase(heldOut);
  if (!trainIdx || !heldIdx) return heldOut;
  const repeats = await all.repeatsAcross(trainIdx, heldIdx);
  if (repeats.length === 0) return heldOut;
  const drop = new Set(repeats.map((r) => r.item));
  const kept = Array.from(heldIdx).filter((i) => !drop.has(i));
  const example = `${all.files[repeats[0].item]} repeats ${all.files[repeats[0].same]}`;
  if (kept.length === 0) {
    throw new DataError(`image folder ${all.root}: every held-out image is also a training image (e.g. ${example}); remove the copies or links`, all.root);
  }
  warn(`image folder ${all.root}: ${repeats.length} held-out image(s) are also training images (copies or links, e.g. ${example}) and are left out of the held-out split`);
  return subset(all, kept, heldOut.name);
}

function capped(train: Dataset, test: Dataset, o: SplitsOptions, seed: number): DatasetSplits {
  return { train: randomSubset(train, o.trainSize, seed), test: randomSubset(test, o.testSize, seed + 1), hasMasks: false };
}
