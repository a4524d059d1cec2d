/**
 * Features of a whole data set, in batches with bounded memory: each batch's forward pass runs in
 * its own `tidy` and the result is copied to a host Float32Array, so backend memory holds one
 * batch at a time however large the data set (eval_knn.py extract_features).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, checkInt, l2Normalize } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { DEFAULTS } from './defaults';
import { backboneFeatures, type FeatureMatrix, type FeatureOptions } from './features';
import { toImageTensor, type ImageSource } from './image-source';

export interface ExtractOptions extends FeatureOptions {
  batchSize?: number;
  /** L2-normalise each feature (eval_knn does, after extraction). Default false. */
  normalize?: boolean;
  /** Called after each batch with (images done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface ExtractedFeatures extends FeatureMatrix {
  /** The labels the source returned, or null when it returned none. */
  labels: Int32Array | null;
}

/**
 * Runs the frozen backbone over every image of `source`.
 *
 * @example
 * const train = await extractFeatures(teacher, trainSource, { batchSize: 128 });
 * const test = await extractFeatures(teacher, testSource);
 * const { results } = await knnClassifier(train, train.labels!, test, test.labels!);
 */
export async function extractFeatures(
  backbone: Backbone,
  source: ImageSource,
  opts: ExtractOptions = {},
): Promise<ExtractedFeatures> {
  const batchSize = opts.batchSize ?? DEFAULTS.extract.batchSize;
  checkInt('batchSize', batchSize, 1);
  const total = source.length;
  checkInt('source.length', total, 1);
  let data: Float32Array | null = null;
  let dim = 0;
  let labels: Int32Array | null = null;
  for (let start = 0; start < total; start += batchSize) {
    const end = Math.min(start + batchSize, total);
    const batch = await source.getBatch(start, end);
    const x = toImageTensor(batch.images);
    let f: tf.Tensor2D;
    try {
      if (x.shape[0] !== end - start) {
        throw new ShapeError(`source.getBatch(${start}, ${end}) returned ${x.shape[0]} images, expected ${end - start}`);
      }
      f = tf.tidy(() => {
        const feats = backboneFeatures(backbone, x, opts);
        return opts.normalize ? l2Normalize(feats) : feats;
      });
    } finally {
      x.dispose();
    }
    const values = (await f.data()) as Float32Array;
    if (!data) {
      dim = f.shape[1];
      data = new Float32Array(total * dim);
    }
    f.dispose();
    data.set(values, start * dim);
    if (batch.labels) {
      if (batch.labels.length !== end - start) {
        throw new ShapeError(`source.getBatch(${start}, ${end}) returned ${batch.labels.length} labels, expected ${end - start}`);
      }
      if (!labels) {
        if (start > 0) throw new ShapeError(`source returned labels from item ${start} on but not before`);
        labels = new Int32Array(total);
      }
      labels.set(Array.from(batch.labels), start);
    } else if (labels) {
      throw new ShapeError(`source returned no labels for items ${start}..${end - 1}`);
    }
    opts.onProgress?.(end, total);
  }
  return { data: data!, rows: total, dim, labels };
}
