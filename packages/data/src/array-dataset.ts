import { ConfigError, ShapeError, checkInt } from '@dino-ts/core';
import { checkIndex } from './collate';
import { SyncDatasetBase } from './sync-dataset';
import type { Batch, DataItem } from './types';

export interface ArrayDatasetOptions {
  name: string;
  /** All images, N * height * width * channels bytes, HWC per image. */
  images: Uint8Array;
  height: number;
  width: number;
  channels: number;
  /** N labels, or absent for unlabeled data. */
  labels?: Uint8Array | Int32Array;
  /** Class names (index = label); required with labels. */
  classNames?: readonly string[];
}

/**
 * Images held in one contiguous byte array (Fashion-MNIST, CIFAR, or your own). `get` returns a
 * copy of the item, so callers may modify it.
 *
 * @example
 * const ds = new ArrayDataset({ name: 'tiny', images: new Uint8Array(2 * 4 * 4 * 3), height: 4,
 *   width: 4, channels: 3, labels: new Uint8Array([0, 1]), classNames: ['a', 'b'] });
 * ds.getSync(1).label; // 1
 */
export class ArrayDataset extends SyncDatasetBase {
  readonly name: string;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  private readonly images: Uint8Array;
  private readonly labels?: Uint8Array | Int32Array;

  constructor(opts: ArrayDatasetOptions) {
    super();
    checkInt('height', opts.height, 1);
    checkInt('width', opts.width, 1);
    checkInt('channels', opts.channels, 1);
    const size = opts.height * opts.width * opts.channels;
    if (opts.images.length % size !== 0) {
      throw new ShapeError(
        `ArrayDataset "${opts.name}": images has ${opts.images.length} bytes, not a multiple of ` +
          `height*width*channels = ${size}`,
      );
    }
    this.name = opts.name;
    this.height = opts.height;
    this.width = opts.width;
    this.channels = opts.channels;
    this.images = opts.images;
    this.length = opts.images.length / size;
    this.classNames = opts.classNames ?? [];
    this.numClasses = opts.labels ? this.classNames.length : 0;
    if (opts.labels) {
      if (opts.labels.length !== this.length) {
        throw new ShapeError(`ArrayDataset "${opts.name}": ${opts.labels.length} labels for ${this.length} images`);
      }
      if (this.classNames.length === 0) {
        throw new ConfigError('classNames', '[]', `ArrayDataset "${opts.name}" has labels, so it needs class names`);
      }
      for (let i = 0; i < opts.labels.length; i++) {
        const l = opts.labels[i];
        if (l < 0 || l >= this.numClasses) {
          throw new ShapeError(
            `ArrayDataset "${opts.name}": label ${l} of item ${i} is outside [0, ${this.numClasses - 1}]`,
          );
        }
      }
      this.labels = opts.labels;
    }
  }

  protected item(i: number): DataItem {
    const size = this.height * this.width * this.channels;
    const image = this.images.slice(i * size, (i + 1) * size);
    return this.labels ? { image, label: this.labels[i] } : { image };
  }

  /** Batches straight from the byte array (no per-item copies). */
  override getBatchSync(indices: ArrayLike<number>): Batch {
    const n = indices.length;
    const size = this.height * this.width * this.channels;
    const images = new Float32Array(n * size);
    const labels = new Int32Array(n);
    const idx = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const i = indices[b];
      checkIndex(this, i);
      const src = i * size;
      const dst = b * size;
      for (let k = 0; k < size; k++) images[dst + k] = this.images[src + k] / 255;
      labels[b] = this.labels ? this.labels[i] : -1;
      idx[b] = i;
    }
    return { images, labels, indices: idx, shape: [n, this.height, this.width, this.channels] };
  }

  /** The raw bytes of all images (N * H * W * C), without copying. Do not modify. */
  rawImages(): Uint8Array {
    return this.images;
  }

  /** The raw labels without copying, or undefined. Do not modify. */
  rawLabels(): Uint8Array | Int32Array | undefined {
    return this.labels;
  }
}
