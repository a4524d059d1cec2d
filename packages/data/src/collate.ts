import { ConfigError, ShapeError } from '@dino-ts/core';
import type { Batch, DataItem, Dataset } from './types';

type Dims = Pick<Dataset, 'name' | 'height' | 'width' | 'channels'>;

/**
 * Packs items into one NHWC float32 batch in [0, 1] (Uint8 pixels are divided by 255), with
 * labels (-1 when absent) and masks (only when every item has one).
 */
export function collate(dataset: Dims, items: readonly DataItem[], indices: ArrayLike<number>): Batch {
  const { height: h, width: w, channels: c } = dataset;
  const n = items.length;
  if (indices.length !== n) {
    throw new ShapeError(`collate: ${n} items but ${indices.length} indices for data set "${dataset.name}"`);
  }
  const size = h * w * c;
  const images = new Float32Array(n * size);
  const labels = new Int32Array(n);
  const idx = new Int32Array(n);
  const hasMasks = n > 0 && items.every((it) => it.mask !== undefined);
  const masks = hasMasks ? new Uint8Array(n * h * w) : undefined;
  for (let b = 0; b < n; b++) {
    const { image, label, mask } = items[b];
    if (image.length !== size) {
      throw new ShapeError(
        `data set "${dataset.name}" item ${indices[b]}: image has ${image.length} values, ` +
          `expected height*width*channels = ${h}*${w}*${c} = ${size}`,
      );
    }
    const off = b * size;
    if (image instanceof Uint8Array) {
      for (let k = 0; k < size; k++) images[off + k] = image[k] / 255;
    } else {
      images.set(image, off);
    }
    labels[b] = label ?? -1;
    idx[b] = indices[b];
    if (masks && mask) {
      if (mask.length !== h * w) {
        throw new ShapeError(`data set "${dataset.name}" item ${indices[b]}: mask has ${mask.length} values, expected ${h * w}`);
      }
      masks.set(mask, b * h * w);
    }
  }
  return { images, labels, indices: idx, masks, shape: [n, h, w, c] };
}

/** Throws a ConfigError unless `i` is a valid item index of `dataset`. */
export function checkIndex(dataset: Pick<Dataset, 'name' | 'length'>, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= dataset.length) {
    throw new ConfigError(
      'index',
      i,
      dataset.length === 0
        ? `data set "${dataset.name}" is empty`
        : `must be an integer in [0, ${dataset.length - 1}] for data set "${dataset.name}"`,
    );
  }
}
