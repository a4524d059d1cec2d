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
import { extractFeatures } from './extract';
import { backboneFeatures, type FeatureOptions } from './features';
import {
  LinearSgd,
  cosineLr,
  finishEpoch,
  resolveTrainOptions,
  summarize,
  trainLinearClassifier,
  type LinearProbeResult,
  type LinearTrainOptions,
} from './linear-train';
import { randomResizedCropFlip, type RandomResizedCropOptions } from './probe-augment';
import { range, toImageTensor, type ImageSource } from './source';

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
  const n = trainSource.length;
  const rng = new Rng(o.seed + 1);
  const augRng = new Rng(o.seed + 2);
  const sgd = new LinearSgd(o.classifier, opts);
  const history = [];
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const lr = cosineLr(o.baseLr, epoch, o.epochs);
      const batches = trainBatches(n, o.batchSize, o.shuffle, rng, !!trainSource.getItems);
      let lossSum = 0;
      for (const idx of batches) {
        const batch = await (trainSource.getItems ? trainSource.getItems(idx) : trainSource.getBatch(idx[0], idx[idx.length - 1] + 1));
        const x = toImageTensor(batch.images);
        const y = tf.tensor1d(Int32Array.from(idx, (i) => labels[i]), 'int32');
        const f = tf.tidy(() => backboneFeatures(backbone, augment(x, augRng), feat));
        const lossT = sgd.step(f, y, lr);
        lossSum += (await lossT.data())[0];
        tf.dispose([x, y, f, lossT]);
      }
      history.push(await finishEpoch(o, epoch, lr, lossSum / batches.length));
    }
  } finally {
    sgd.dispose();
  }
  return summarize(o.classifier, history);
}

/**
 * Batches of one epoch: shuffled items with random access, else contiguous batches visited in a
 * shuffled order.
 */
function trainBatches(n: number, batchSize: number, shuffle: boolean, rng: Rng, randomAccess: boolean): number[][] {
  if (randomAccess) {
    const order = shuffle ? Array.from(rng.permutation(n)) : range(0, n);
    const out: number[][] = [];
    for (let s = 0; s < n; s += batchSize) out.push(order.slice(s, s + batchSize));
    return out;
  }
  const starts = range(0, Math.ceil(n / batchSize)).map((i) => i * batchSize);
  const order = shuffle ? Array.from(rng.permutation(starts.length), (i) => starts[i]) : starts;
  return order.map((s) => range(s, Math.min(s + batchSize, n)));
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
