/**
 * @dino-ts/data/node: the loaders that need Node (node:fs, node:path, node:zlib) or sharp (a
 * native module), kept out of the main entry so that one bundles for a browser. Only these names
 * live here; the rest (ArrayDataset, ShapesDataset, DataLoader, DataError, ...) comes from
 * '@dino-ts/data', which these loaders share (the build splits shared code into common chunks, so
 * `instanceof ArrayDataset` / `DataError` holds across the two entries).
 *
 * sharp is an optional peer dependency: install it to use ImageFolderDataset.
 *
 * @example
 * import { loadFashionMnist } from '@dino-ts/data/node';
 * import { DataLoader } from '@dino-ts/data';
 * const loader = new DataLoader(await loadFashionMnist({ split: 'train' }), { batchSize: 64 });
 */

// IDX files (MNIST-style), and Fashion-MNIST from them.
export { readIdx } from './read-idx';
export {
  loadFashionMnist,
  loadIdxDataset,
  FASHION_MNIST_DIR,
  FASHION_MNIST_DEFAULTS,
  type FashionMnistOptions,
  type IdxDatasetOptions,
} from './fashion-mnist';

// CIFAR-10 / CIFAR-100, binary version.
export { loadCifar10, loadCifar100, CIFAR_DEFAULTS, type CifarOptions, type Cifar100Options } from './cifar';

// Folders of JPEG / PNG / WebP images, decoded with sharp.
export {
  ImageFolderDataset,
  loadImageFolder,
  IMAGE_FOLDER_DEFAULTS,
  type ImageFolderOptions,
  type FitMode,
  type SkippedFile,
} from './image-folder';

// Any of these by a plain description (a CLI's or a config file's): one data set, or a train
// and a held-out split of one.
export {
  openDataset,
  openDatasetSplits,
  DATASET_KINDS,
  SPLITS_DEFAULTS,
  type DatasetSpec,
  type SplitsSpec,
  type SplitsOptions,
  type DatasetSplits,
} from './open-dataset';
