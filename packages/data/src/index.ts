/**
 * @dino-ts/data, main entry: everything that runs in a browser as well as in Node (no Node
 * built-ins, no native modules), so `import ... from '@dino-ts/data'` bundles for the web.
 * Loaders that read files (IDX / Fashion-MNIST, CIFAR, image folders decoded with sharp,
 * `openDataset`) are in '@dino-ts/data/node'; a page builds data sets from decoded images with
 * `imagePixels` / `datasetFromImages` instead.
 */
export * from './types';
export * from './errors';
export { collate, checkIndex } from './collate';
export { SyncDatasetBase } from './sync-dataset';
export * from './array-dataset';
export * from './subset';
export * from './shapes/shapes-dataset';
export * from './shapes/moving-shapes';
export { SHAPE_CLASSES, SHAPE_CLASS_NAMES, type ShapeClass } from './shapes/geometry';
export { TEXTURE_KINDS, type TextureKind, type Palette } from './shapes/scene';
export { IDX_MAGIC, parseIdx, type IdxArray } from './idx';
export { FASHION_MNIST_CLASSES } from './fashion-mnist-classes';
export * from './image-data';
export * from './loader';
export * from './tensor';
export * from './stats';
