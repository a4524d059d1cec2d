/**
 * Where images come from. The evaluation functions read a data set in batches through the small
 * `ImageSource` interface, so any loader (the data package, a folder of PNGs, a test array) plugs
 * in with a few lines and no dependency on its internals.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@dino-ts/core';

/** A host batch of NHWC float32 images. */
export interface HostImages {
  data: Float32Array;
  /** [B, H, W, C]. */
  shape: [number, number, number, number];
}

export interface ImageBatch {
  /** NHWC images, already normalised for the backbone. A tensor is disposed after use. */
  images: tf.Tensor4D | HostImages;
  /** Class labels, one per image (needed for k-NN and the linear probe). */
  labels?: ArrayLike<number>;
  /** Object masks [B * H * W] (1 = object), for the attention-segmentation protocol. */
  masks?: ArrayLike<number>;
}

/** A data set read in contiguous batches: `getBatch(start, end)` returns items start..end-1. */
export interface ImageSource {
  readonly length: number;
  getBatch(start: number, end: number): Promise<ImageBatch> | ImageBatch;
  /** Optional random access (used to shuffle the linear probe's training batches). */
  getItems?(indices: number[]): Promise<ImageBatch> | ImageBatch;
}

/**
 * The batch of an index-addressed data set, as the data package returns it: NHWC float32 images
 * in [0, 1] with their shape, labels (-1 = none) and optional masks.
 */
export interface HostBatchLike {
  images: Float32Array;
  shape: [number, number, number, number];
  labels?: ArrayLike<number>;
  masks?: ArrayLike<number>;
}

/** An index-addressed data set (e.g. any data-package `Dataset`). */
export interface IndexedDatasetLike<B = HostBatchLike> {
  readonly length: number;
  getBatch(indices: number[]): Promise<B> | B;
}

export interface IndexedSourceOptions<B> {
  /** Per-channel mean subtracted from the images (e.g. the data set's mean). */
  mean?: readonly number[];
  /** Per-channel std the images are divided by. */
  std?: readonly number[];
  /** Converts another batch type; by default the batch is a `HostBatchLike`. */
  toBatch?: (batch: B) => ImageBatch;
}

/**
 * Adapts a data set addressed by indices (the data package's `Dataset`) to an `ImageSource`,
 * normalising the images with `mean` / `std` when given.
 *
 * @example
 * const source = fromIndexedDataset(testSet, { mean: [0.2860], std: [0.3530] });
 * const feats = await extractFeatures(backbone, source);
 */
export function fromIndexedDataset<B = HostBatchLike>(
  dataset: IndexedDatasetLike<B>,
  opts: IndexedSourceOptions<B> = {},
): ImageSource {
  const toBatch = opts.toBatch ?? ((b: B) => hostBatch(b as unknown as HostBatchLike));
  const get = async (indices: number[]): Promise<ImageBatch> => {
    const batch = toBatch(await dataset.getBatch(indices));
    if (!opts.mean && !opts.std) return batch;
    if (batch.images instanceof tf.Tensor) {
      throw new ShapeError('fromIndexedDataset: mean/std normalisation needs host images, toBatch returned a tensor');
    }
    return { ...batch, images: normalizeImages(batch.images, opts.mean, opts.std) };
  };
  return {
    get length() {
      return dataset.length;
    },
    getBatch: (start, end) => get(range(start, end)),
    getItems: get,
  };
}

function hostBatch(b: HostBatchLike): ImageBatch {
  if (!(b.images instanceof Float32Array) || !b.shape) {
    throw new ShapeError('fromIndexedDataset: the batch must have images (Float32Array) and shape [B, H, W, C]; pass toBatch otherwise');
  }
  return { images: { data: b.images, shape: b.shape }, labels: b.labels, masks: b.masks };
}

/** (x - mean[c]) / std[c] per channel, on a copy. */
export function normalizeImages(images: HostImages, mean: readonly number[] = [], std: readonly number[] = []): HostImages {
  const c = images.shape[3];
  for (const [name, v] of [['mean', mean], ['std', std]] as const) {
    if (v.length !== 0 && v.length !== c && v.length !== 1) {
      throw new ShapeError(`${name} has ${v.length} values, the images have ${c} channels`);
    }
  }
  const m = Float32Array.from({ length: c }, (_, i) => (mean.length ? mean[mean.length === 1 ? 0 : i] : 0));
  const s = Float32Array.from({ length: c }, (_, i) => (std.length ? std[std.length === 1 ? 0 : i] : 1));
  const out = new Float32Array(images.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (images.data[i] - m[i % c]) / s[i % c];
  return { data: out, shape: images.shape };
}

/** An `ImageSource` over host arrays: NHWC images, optional labels and masks [N * H * W]. */
export function fromArrays(images: HostImages, labels?: ArrayLike<number>, masks?: ArrayLike<number>): ImageSource {
  const [n, h, w, c] = images.shape;
  const size = h * w * c;
  if (images.data.length !== n * size) {
    throw new ShapeError(`fromArrays: images.data has ${images.data.length} values, shape [${images.shape}] needs ${n * size}`);
  }
  if (labels && labels.length !== n) {
    throw new ShapeError(`fromArrays: ${labels.length} labels for ${n} images`);
  }
  if (masks && masks.length !== n * h * w) {
    throw new ShapeError(`fromArrays: masks have ${masks.length} values, ${n} images of ${h}x${w} need ${n * h * w}`);
  }
  const maskRows = (indices: number[]): Uint8Array | undefined => {
    if (!masks) return undefined;
    const out = new Uint8Array(indices.length * h * w);
    indices.forEach((idx, i) => {
      for (let j = 0; j < h * w; j++) out[i * h * w + j] = masks[idx * h * w + j];
    });
    return out;
  };
  const pick = (indices: number[]): ImageBatch => {
    const data = new Float32Array(indices.length * size);
    indices.forEach((idx, i) => data.set(images.data.subarray(idx * size, (idx + 1) * size), i * size));
    return {
      images: { data, shape: [indices.length, h, w, c] },
      labels: labels ? Int32Array.from(indices, (i) => labels[i]) : undefined,
      masks: maskRows(indices),
    };
  };
  return {
    length: n,
    getBatch: (start, end) => ({
      images: { data: images.data.subarray(start * size, end * size), shape: [end - start, h, w, c] },
      labels: labels ? Int32Array.from({ length: end - start }, (_, i) => labels[start + i]) : undefined,
      masks: maskRows(range(start, end)),
    }),
    getItems: pick,
  };
}

/** The batch's images as a tensor (a new one for host arrays; the given one otherwise). */
export function toImageTensor(images: tf.Tensor4D | HostImages): tf.Tensor4D {
  if (images instanceof tf.Tensor) {
    if (images.rank !== 4) throw new ShapeError(`images must be rank 4 [B, H, W, C], got shape [${images.shape}]`);
    return images;
  }
  const { data, shape } = images;
  if (!shape || shape.length !== 4) throw new ShapeError(`images.shape must be [B, H, W, C], got [${shape}]`);
  return tf.tensor4d(data, shape);
}

/** start, start + 1, ..., end - 1. */
function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
