/**
 * @dino-ts/data, main entry: everything that runs in a browser as well as in Node (no Node
 * built-ins, no native modules), so `import ... from '@dino-ts/data'` bundles for the web.
 * Loaders that read files (IDX / Fashion-MNIST, CIFAR, image folders decoded with sharp,
 * `openDataset`) are in '@dino-ts/data/node'; a page builds data sets from decoded images with
 * `imagePixels` / `datasetFromImages` instead.
 *
 * Only what a user calls or names is exported here; the modules' helpers stay inside.
 */

// The data-set contract every source satisfies, and what implementing one takes.
export { isSyncDataset, type DataItem, type Batch, type Dataset, type SyncDataset } from './types';
export { SyncDatasetBase } from './sync-dataset';
export { collate, checkIndex } from './collate';
export { DataError } from './errors';

// Data sets held in memory, and views of other data sets (subsets, splits).
export { ArrayDataset, type ArrayDatasetOptions } from './array-dataset';
export { subset, randomIndices, randomSubset, splitDataset, type SplitOptions } from './subset';

// The embedded procedural data sets: labelled shapes with object masks, and videos of them.
export { ShapesDataset, SHAPES_DEFAULTS, type ShapesOptions, type ShapesScene } from './shapes/shapes-dataset';
export { MovingShapesDataset, MOVING_SHAPES_DEFAULTS, type MovingShapesOptions, type VideoItem } from './shapes/moving-shapes';
export { SHAPE_CLASSES, SHAPE_CLASS_NAMES, type ShapeClass } from './shapes/geometry';
export { TEXTURE_KINDS, type TextureKind, type Palette } from './shapes/scene';

// File formats parsed from bytes already in memory (a browser fetches them).
export { IDX_MAGIC, parseIdx, type IdxArray } from './parse-idx';
export { FASHION_MNIST_CLASSES } from './fashion-mnist-classes';

// Images a page has decoded (ImageData, ImageBitmap, <img>, canvases) as pixels and data sets.
export {
  imagePixels,
  datasetFromImages,
  IMAGE_PIXELS_DEFAULTS,
  type ImageDataLike,
  type DrawableImageLike,
  type Canvas2DContextLike,
  type CanvasLike,
  type CanvasFactory,
  type ImagePixelsOptions,
  type ImageDatasetOptions,
} from './image-data';

// Batches for training: the seeded, resumable, prefetching loader, and batches as tensors.
export {
  DataLoader,
  LOADER_DEFAULTS,
  type DataLoaderOptions,
  type LoaderBatch,
  type LoaderPosition,
  type IterateOptions,
} from './loader';
export { toTensor, masksToTensor } from './batch-tensors';

// Per-channel statistics to normalise with.
export { channelStats, type ChannelStats } from './channel-stats';
