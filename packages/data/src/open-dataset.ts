// Node only: every kind but 'shapes' opens files (and 'folder' decodes with sharp), so this lives
// in '@dino-ts/data/node'; in a browser construct ShapesDataset (or an ArrayDataset) directly.
import { checkChoice } from '@dino-ts/core';
import { loadCifar10, loadCifar100, type Cifar100Options, type CifarOptions } from './cifar';
import { loadFashionMnist, type FashionMnistOptions } from './fashion-mnist';
import { ImageFolderDataset, type ImageFolderOptions } from './image-folder';
import { ShapesDataset, type ShapesOptions } from './shapes/shapes-dataset';
import type { Dataset } from './types';

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
