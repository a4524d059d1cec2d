/**
 * The linear-probe protocol on a frozen backbone (eval_linear.py): features = CLS of the last n
 * blocks (+ average-pooled patch tokens), one linear layer trained by SGD, scored on the test split.
 *
 * Without augmentation the features are extracted once and cached (fast, the default); with
 * augmentation (random-resized-crop + flip, as the reference trains) the backbone runs on every
 * training batch of every epoch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, ShapeError, checkInt } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { DEFAULTS } from './defaults';
import { extractFeatures } from './extract-features';
import { backboneFeatures, type FeatureOptions } from './features';
import { resolveTrainOptions, runLinearEpochs, trainLinearClassifier, type LinearProbeResult, type LinearTrainOptions } from './linear-train';
import { randomResizedCropFlip, type RandomResizedCropOptions } from './probe-augment';
import { toImageTensor, type ImageSource } from './image-source';

export type AugmentFn = (images: tf.Tensor4D, rng: Rng) => tf.Tensor4D;

export interface LinearProbeOptions extends Omit<LinearTrainOptions, 'test'>, FeatureOptions {
  /**
   * Train-time augmentation: false (default: cached features), true (random-resized-crop + flip),
   * crop options, or your own function of a batch (e.g. from the augment package).
   */
  augment?: boolean | RandomResizedCropOptions | AugmentFn;
  /** Batch size of the feature extraction. Default: the training batch size. */
  extractBatchSize?: number;
  /** Progress of the feature extraction: (done, total, split). */
  onProgress?: (done: number, total: number, split: 'train' | 'test') => void;
}

/**
 * @example
 * const res = await linearProbe(teacher, trainSource, testSource, { nLastBlocks: 4, epochs: 100 });
 * console.log(res.top1, res.bestTop1);
 */
export async function linearProbe(
  backbone: Backbone,
  trainSource: ImageSource,
  testSource: ImageSource,
  opts: LinearProbeOptions = {},
): Promise<LinearProbeResult> {
  const feat: FeatureOptions = {
    nLastBlocks: opts.nLastBlocks ?? DEFAULTS.linear.nLastBlocks,
    avgpoolPatchTokens: opts.avgpoolPatchTokens ?? DEFAULTS.linear.avgpoolPatchTokens,
  };
  const batchSize = opts.batchSize ?? DEFAULTS.linear.batchSize;
  const extractBatchSize = opts.extractBatchSize ?? batchSize;
  checkInt('extractBatchSize', extractBatchSize, 1);
  const extract = (source: ImageSource, split: 'train' | 'test') =>
    extractFeatures(backbone, source, {
      ...feat,
      batchSize: extractBatchSize,
      onProgress: (d, t) => opts.onProgress?.(d, t, split),
    });
  const test = await extract(testSource, 'test');
  if (!test.labels) throw new ShapeError('linearProbe: the test source must return labels');
  const testSet = { features: test, labels: test.labels };

  if (!opts.augment) {
    const train = await extract(trainSource, 'train');
    if (!train.labels) throw new ShapeError('linearProbe: the train source must return labels');
    return trainLinearClassifier(train, train.labels, { ...opts, test: testSet });
  }

  const augment: AugmentFn =
    typeof opts.augment === 'function'
      ? opts.augment
      : (x, rng) => randomResizedCropFlip(x, rng, opts.augment === true ? {} : (opts.augment as RandomResizedCropOptions));
  const labels = await allLabels(trainSource, extractBatchSize);
  // The test features give the feature size (a convnet ignores nLastBlocks / avgpool).
  const o = resolveTrainOptions({ ...opts, test: testSet }, labels, test.dim);
  // The crops draw from their own generator, so the batch order is that of the cached path.
  const augRng = new Rng(o.seed + 2);
  const augmentedFeatures = async (rows: number[]): Promise<tf.Tensor2D> => {
    const batch = await (trainSource.getItems ? trainSource.getItems(rows) : trainSource.getBatch(rows[0], rows[rows.length - 1] + 1));
    const x = toImageTensor(batch.images);
    try {
      return tf.tidy(() => backboneFeatures(backbone, augment(x, augRng), feat));
    } finally {
      x.dispose();
    }
  };
  return runLinearEpochs(o, opts, labels, augmentedFeatures, !!trainSource.getItems);
}

async function allLabels(source: ImageSource, batchSize: number): Promise<Int32Array> {
  const out = new Int32Array(source.length);
  for (let s = 0; s < source.length; s += batchSize) {
    const e = Math.min(s + batchSize, source.length);
    const b = await source.getBatch(s, e);
    if (!b.labels) throw new ShapeError('linearProbe: the train source must return labels');
    if (b.images instanceof tf.Tensor) b.images.dispose();
    out.set(Array.from(b.labels), s);
  }
  return out;
}
