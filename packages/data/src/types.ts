/**
 * The one data-set contract every source in this package satisfies (procedural shapes,
 * Fashion-MNIST, CIFAR, image folders, subsets), so a loader, the augmentations and the
 * evaluation protocols work with any of them.
 *
 * Images are host arrays in HWC order (not tensors), so data sets work without a tfjs backend:
 * a `Uint8Array` holds values 0..255, a `Float32Array` values in [0, 1]. Every item of a data set
 * has the same height, width and channel count.
 */

/** One example. */
export interface DataItem {
  /** HWC pixels: Uint8Array 0..255 or Float32Array in [0, 1]; length height * width * channels. */
  image: Uint8Array | Float32Array;
  /** Class index in [0, numClasses), absent for unlabeled data. */
  label?: number;
  /** HW object mask (1 = object, 0 = background), where the data set knows it. */
  mask?: Uint8Array;
}

/** A batch ready for a model: images as one NHWC float32 array in [0, 1]. */
export interface Batch {
  /** [B * H * W * C] float32 in [0, 1], NHWC order. */
  images: Float32Array;
  /** [B] class indices; -1 where an item has no label. */
  labels: Int32Array;
  /** [B] the data-set indices of the items, in batch order. */
  indices: Int32Array;
  /** [B * H * W] object masks, present only when every item has one. */
  masks?: Uint8Array;
  /** [B, H, W, C]. */
  shape: [number, number, number, number];
}

export interface Dataset {
  /** A short identifier, e.g. 'shapes', 'fashion-mnist/train', 'folder:flowers'. */
  readonly name: string;
  /** Number of items. */
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Number of classes; 0 for unlabeled data. */
  readonly numClasses: number;
  /** Names of the classes, index = label; empty for unlabeled data. */
  readonly classNames: readonly string[];
  /** Item `i` (0 <= i < length). */
  get(i: number): Promise<DataItem>;
  /** The items at `indices`, collated into one batch. */
  getBatch(indices: ArrayLike<number>): Promise<Batch>;
}

/** A data set held in memory or computed on the fly, with synchronous access as well. */
export interface SyncDataset extends Dataset {
  getSync(i: number): DataItem;
  getBatchSync(indices: ArrayLike<number>): Batch;
}

/** True when `d` also offers synchronous access (`getSync`, `getBatchSync`). */
export function isSyncDataset(d: Dataset): d is SyncDataset {
  return typeof (d as Partial<SyncDataset>).getSync === 'function' &&
    typeof (d as Partial<SyncDataset>).getBatchSync === 'function';
}
