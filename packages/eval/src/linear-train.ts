/**
 * Training and scoring of the linear classifier as eval_linear.py does it: SGD with momentum 0.9
 * (torch.optim.SGD, no dampening, no Nesterov), weight decay 0, lr = lr * batch / 256 (linear
 * scaling rule), cosine annealing to 0 stepped once per epoch (CosineAnnealingLR(T_max = epochs)),
 * cross-entropy; top-1 / top-5 accuracy (utils.accuracy), top-5 only with at least 5 labels.
 *
 * The gradient of the mean cross-entropy with respect to the logits is (softmax - onehot) / B, so
 * the step needs no autodiff: two matMuls per batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, ShapeError, checkInt, checkNumber } from '@dino-ts/core';
import { DEFAULTS } from './defaults';
import { LinearClassifier } from './linear-classifier';
import type { FeatureMatrix } from './features';

export interface SgdOptions {
  /** Base learning rate for a batch of 256. Default 0.001. */
  lr?: number;
  /** Multiply lr by batchSize / 256 (the reference's linear scaling rule). Default true. */
  scaleLr?: boolean;
  momentum?: number;
  weightDecay?: number;
}

export interface LinearTrainOptions extends SgdOptions {
  epochs?: number;
  batchSize?: number;
  /** Shuffle the training set every epoch (the reference's DistributedSampler does). Default true. */
  shuffle?: boolean;
  /** Seed of the shuffling and of the classifier initialisation. */
  seed?: number;
  /** Std of the initial weights. Default 0.01. */
  initStd?: number;
  /** Number of classes. Default: largest label + 1. */
  numLabels?: number;
  /** Start from this classifier (trained in place) instead of a new one. */
  classifier?: LinearClassifier;
  /** Scored every `evalEvery` epochs and after the last one. */
  test?: { features: FeatureMatrix; labels: ArrayLike<number> };
  evalEvery?: number;
  onEpoch?: (stats: LinearEpochStats) => void;
}

export interface LinearEpochStats {
  epoch: number;
  /** Learning rate used during this epoch. */
  lr: number;
  /** Mean of the batch losses of the epoch (the reference's logged train loss). */
  loss: number;
  top1?: number;
  top5?: number | null;
}

export interface LinearProbeResult {
  classifier: LinearClassifier;
  history: LinearEpochStats[];
  /** Accuracy after the last epoch (null without a test set). */
  top1: number | null;
  top5: number | null;
  /** Best top-1 over the evaluated epochs: the number eval_linear.py reports. */
  bestTop1: number | null;
}

/** Learning rate of `epoch` (0-based) under CosineAnnealingLR(T_max = epochs, eta_min = 0). */
export function cosineLr(base: number, epoch: number, epochs: number): number {
  return (base * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
}

/** One SGD-with-momentum step on a batch of frozen features: updates `clf`, returns the loss. */
export class LinearSgd {
  private readonly bufW: tf.Variable;
  private readonly bufB: tf.Variable;
  readonly momentum: number;
  readonly weightDecay: number;

  constructor(
    readonly classifier: LinearClassifier,
    opts: SgdOptions = {},
  ) {
    this.momentum = opts.momentum ?? DEFAULTS.linear.momentum;
    this.weightDecay = opts.weightDecay ?? DEFAULTS.linear.weightDecay;
    checkNumber('momentum', this.momentum, { min: 0, max: 1, maxExclusive: true });
    checkNumber('weightDecay', this.weightDecay, { min: 0 });
    this.bufW = tf.tidy(() => tf.variable(tf.zerosLike(classifier.weight), false));
    this.bufB = tf.tidy(() => tf.variable(tf.zerosLike(classifier.bias), false));
  }

  /** Returns the batch's mean cross-entropy (before the update). */
  step(x: tf.Tensor2D, labels: tf.Tensor1D, lr: number): tf.Scalar {
    const { weight, bias, numLabels } = this.classifier;
    return tf.tidy(() => {
      const b = x.shape[0];
      const logp = tf.logSoftmax(this.classifier.forward(x));
      const onehot = oneHotFloat(labels, numLabels);
      const loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
      const g = tf.div(tf.sub(tf.exp(logp), onehot), b);
      let gW: tf.Tensor = tf.matMul(g, x, true, false);
      let gB: tf.Tensor = tf.sum(g, 0);
      if (this.weightDecay > 0) {
        gW = tf.add(gW, tf.mul(weight, this.weightDecay));
        gB = tf.add(gB, tf.mul(bias, this.weightDecay));
      }
      // torch.optim.SGD: buf = momentum * buf + grad (buf starts as the first grad); p -= lr * buf.
      this.bufW.assign(tf.add(tf.mul(this.bufW, this.momentum), gW));
      this.bufB.assign(tf.add(tf.mul(this.bufB, this.momentum), gB));
      weight.assign(tf.sub(weight, tf.mul(this.bufW, lr)));
      bias.assign(tf.sub(bias, tf.mul(this.bufB, lr)));
      return loss;
    });
  }

  dispose(): void {
    this.bufW.dispose();
    this.bufB.dispose();
  }
}

export interface LinearScore {
  top1: number;
  top5: number | null;
  loss: number;
}

/**
 * Top-1 / top-5 accuracy (percent) and mean cross-entropy of `classifier` on features.
 *
 * @example
 * const { top1 } = await evaluateLinearClassifier(clf, testFeatures, testLabels);
 */
export async function evaluateLinearClassifier(
  classifier: LinearClassifier,
  features: FeatureMatrix,
  labels: ArrayLike<number>,
  opts: { batchSize?: number } = {},
): Promise<LinearScore> {
  const batchSize = opts.batchSize ?? DEFAULTS.linear.batchSize;
  checkInt('batchSize', batchSize, 1);
  checkRows('features', features, labels, classifier);
  checkLabelRange('labels', labels, classifier.numLabels);
  const n = features.rows;
  const width = Math.min(5, classifier.numLabels);
  let c1 = 0, c5 = 0, lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const y = Int32Array.from({ length: end - start }, (_, i) => labels[start + i]);
    const [idxT, lossT] = tf.tidy(() => {
      const x = tf.tensor2d(features.data.subarray(start * features.dim, end * features.dim), [end - start, features.dim]);
      const logits = classifier.forward(x);
      const logp = tf.logSoftmax(logits);
      const nll = tf.neg(tf.sum(tf.mul(oneHotFloat(tf.tensor1d(y, 'int32'), classifier.numLabels), logp)));
      return [tf.topk(logits, width, true).indices, nll];
    });
    const idx = (await idxT.data()) as Int32Array;
    lossSum += (await lossT.data())[0];
    tf.dispose([idxT, lossT]);
    for (let r = 0; r < end - start; r++) {
      if (idx[r * width] === y[r]) c1++;
      for (let j = 0; j < width; j++) if (idx[r * width + j] === y[r]) c5++;
    }
  }
  return { top1: (c1 * 100.0) / n, top5: classifier.numLabels >= 5 ? (c5 * 100.0) / n : null, loss: lossSum / n };
}

/**
 * Trains a linear classifier on cached frozen features (the fast path of the linear probe: the
 * backbone runs once, not once per epoch).
 *
 * @example
 * const { top1, classifier } = await trainLinearClassifier(trainF, trainLabels, {
 *   epochs: 100, test: { features: testF, labels: testLabels },
 * });
 */
export async function trainLinearClassifier(
  features: FeatureMatrix,
  labels: ArrayLike<number>,
  opts: LinearTrainOptions = {},
): Promise<LinearProbeResult> {
  const o = resolveTrainOptions(opts, labels, features.dim);
  checkRows('features', features, labels, o.classifier);
  const { data, dim } = features;
  return runLinearEpochs(o, opts, labels, (rows) => {
    const x = new Float32Array(rows.length * dim);
    rows.forEach((row, i) => x.set(data.subarray(row * dim, (row + 1) * dim), i * dim));
    return tf.tensor2d(x, [rows.length, dim]);
  });
}

/** The features [rows.length, dim] of the training rows `rows`; the epoch loop disposes them. */
export type BatchFeatures = (rows: number[]) => tf.Tensor2D | Promise<tf.Tensor2D>;

/**
 * The epoch loop of eval_linear.train, one for both probes (cached features and augmented
 * images): per epoch the cosine learning rate, the batches (`epochBatches`, shuffled by a
 * generator seeded with seed + 1), one SGD step per batch on `features(rows)`, the mean loss, and
 * the scoring `finishEpoch` asks for. `randomAccess` false visits contiguous batches (a source
 * without `getItems`).
 */
export async function runLinearEpochs(
  o: ResolvedTrainOptions,
  sgdOpts: SgdOptions,
  labels: ArrayLike<number>,
  features: BatchFeatures,
  randomAccess = true,
): Promise<LinearProbeResult> {
  const rng = new Rng(o.seed + 1);
  const sgd = new LinearSgd(o.classifier, sgdOpts);
  const history: LinearEpochStats[] = [];
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const lr = cosineLr(o.baseLr, epoch, o.epochs);
      const batches = epochBatches(labels.length, o.batchSize, o.shuffle, rng, randomAccess);
      let lossSum = 0;
      for (const rows of batches) {
        const x = await features(rows);
        const y = tf.tensor1d(Int32Array.from(rows, (i) => labels[i]), 'int32');
        let lossT: tf.Scalar | undefined;
        try {
          lossT = sgd.step(x, y, lr);
          lossSum += (await lossT.data())[0];
        } finally {
          tf.dispose(lossT ? [x, y, lossT] : [x, y]);
        }
      }
      history.push(await finishEpoch(o, epoch, lr, lossSum / batches.length));
    }
  } finally {
    sgd.dispose();
  }
  return summarize(o.classifier, history);
}

/**
 * The row indices of one epoch's batches: with random access a permutation of all rows (or 0..n-1
 * unshuffled) cut into batches, as the reference's sampler; otherwise contiguous batches visited
 * in a shuffled order (a source read in ranges cannot gather scattered rows).
 */
export function epochBatches(n: number, batchSize: number, shuffle: boolean, rng: Rng, randomAccess = true): number[][] {
  const out: number[][] = [];
  if (randomAccess) {
    const order = shuffle ? rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    for (let s = 0; s < n; s += batchSize) out.push(Array.from(order.subarray(s, s + batchSize)));
    return out;
  }
  const nb = Math.ceil(n / batchSize);
  const visit = shuffle ? rng.permutation(nb) : Int32Array.from({ length: nb }, (_, i) => i);
  for (const b of visit) out.push(Array.from({ length: Math.min(batchSize, n - b * batchSize) }, (_, i) => b * batchSize + i));
  return out;
}

export interface ResolvedTrainOptions {
  epochs: number;
  batchSize: number;
  baseLr: number;
  shuffle: boolean;
  seed: number;
  evalEvery: number;
  classifier: LinearClassifier;
  test?: { features: FeatureMatrix; labels: ArrayLike<number> };
  onEpoch?: (stats: LinearEpochStats) => void;
}

export function resolveTrainOptions(opts: LinearTrainOptions, labels: ArrayLike<number>, dim: number): ResolvedTrainOptions {
  const epochs = opts.epochs ?? DEFAULTS.linear.epochs;
  const batchSize = opts.batchSize ?? DEFAULTS.linear.batchSize;
  const lr = opts.lr ?? DEFAULTS.linear.lr;
  const evalEvery = opts.evalEvery ?? DEFAULTS.linear.evalEvery;
  const seed = opts.seed ?? DEFAULTS.linear.seed;
  checkInt('epochs', epochs, 1);
  checkInt('batchSize', batchSize, 1);
  checkNumber('lr', lr, { min: 0, minExclusive: true });
  checkInt('evalEvery', evalEvery, 1);
  let numLabels = opts.numLabels ?? opts.classifier?.numLabels;
  if (numLabels === undefined) {
    numLabels = 0;
    for (let i = 0; i < labels.length; i++) numLabels = Math.max(numLabels, labels[i] + 1);
  }
  checkInt('numLabels', numLabels, 1);
  checkLabelRange('labels', labels, numLabels);
  const classifier = opts.classifier ?? new LinearClassifier(dim, numLabels, { seed, initStd: opts.initStd });
  if (classifier.dim !== dim || classifier.numLabels !== numLabels) {
    throw new ShapeError(`classifier is [${classifier.numLabels}, ${classifier.dim}], the data need [${numLabels}, ${dim}]`);
  }
  return {
    epochs, batchSize, seed, evalEvery, classifier,
    baseLr: (opts.scaleLr ?? true) ? (lr * batchSize) / 256 : lr,
    shuffle: opts.shuffle ?? true,
    test: opts.test,
    onEpoch: opts.onEpoch,
  };
}

async function finishEpoch(o: ResolvedTrainOptions, epoch: number, lr: number, loss: number): Promise<LinearEpochStats> {
  const stats: LinearEpochStats = { epoch, lr, loss };
  if (o.test && (epoch % o.evalEvery === 0 || epoch === o.epochs - 1)) {
    const s = await evaluateLinearClassifier(o.classifier, o.test.features, o.test.labels, { batchSize: o.batchSize });
    stats.top1 = s.top1;
    stats.top5 = s.top5;
  }
  o.onEpoch?.(stats);
  return stats;
}

function summarize(classifier: LinearClassifier, history: LinearEpochStats[]): LinearProbeResult {
  const scored = history.filter((h) => h.top1 !== undefined);
  const last = scored[scored.length - 1];
  return {
    classifier,
    history,
    top1: last?.top1 ?? null,
    top5: last?.top5 ?? null,
    bestTop1: scored.length ? Math.max(...scored.map((h) => h.top1!)) : null,
  };
}

function checkRows(name: string, f: FeatureMatrix, labels: ArrayLike<number>, clf: LinearClassifier): void {
  if (f.data.length !== f.rows * f.dim) throw new ShapeError(`${name}: ${f.data.length} values for ${f.rows} x ${f.dim}`);
  if (labels.length !== f.rows) throw new ShapeError(`${name}: ${labels.length} labels for ${f.rows} rows`);
  if (f.dim !== clf.dim) throw new ShapeError(`${name}: dim ${f.dim}, the classifier takes ${clf.dim}`);
}

function checkLabelRange(name: string, labels: ArrayLike<number>, numLabels: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= numLabels) {
      throw new ConfigError(`${name}[${i}]`, labels[i], `must be an integer class index in [0, ${numLabels})`);
    }
  }
}

/**
 * One-hot rows as float32. Built as int32 and cast: the wasm backend's OneHot kernel ignores a
 * float32 dtype (tfjs 4.22) and writes int32 bits into the float tensor.
 */
function oneHotFloat(labels: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(labels, depth), 'float32') as tf.Tensor2D);
}
