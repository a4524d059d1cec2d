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
export { readIdx } from './read-idx';
export * from './fashion-mnist';
export * from './cifar';
export * from './image-folder';
export * from './open-dataset';
