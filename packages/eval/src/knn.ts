/**
 * Weighted k-nearest-neighbour classifier of eval_knn.py (knn_classifier): features L2-normalised,
 * cosine similarity of each test row to every train row, the top-k neighbours vote for their class
 * with weight exp(sim / T), classes ranked by total vote; top-1 and top-5 accuracy in percent.
 *
 * Test rows are processed in chunks so 60k x 10k fits in memory: one matMul and one topk (with the
 * largest k, whose prefixes give every smaller k) per chunk on the active backend, then the votes on
 * the host.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, checkInt, checkNumber, l2Normalize } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { DEFAULTS } from './defaults';
import { extractFeatures, type ExtractOptions } from './extract-features';
import { toFeatureMatrix, type FeatureMatrix } from './features';
import type { ImageSource } from './image-source';

export interface KnnOptions {
  /** Number(s) of neighbours. Default [10, 20, 100, 200]. */
  k?: number | readonly number[];
  /** Temperature of the vote weights exp(sim / T). Default 0.07. */
  T?: number;
  /** Number of classes. Default: largest label + 1. */
  numClasses?: number;
  /** Test rows per similarity block. Default 256. */
  chunkSize?: number;
  /** L2-normalise both feature sets first (eval_knn does after extraction). Default true. */
  normalize?: boolean;
  /** Keep each test row's predicted class and class ranking, per k. */
  returnPredictions?: boolean;
  /** Keep each test row's neighbours (train indices and similarities) for the largest k. */
  returnNeighbors?: boolean;
  /** Called after each chunk with (test rows done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface KnnResult {
  k: number;
  /** Top-1 accuracy in percent. */
  top1: number;
  /** Top-5 accuracy in percent (target among the first min(5, k) classes); null when numClasses < 5. */
  top5: number | null;
  /** Predicted class of each test row (with returnPredictions). */
  predictions?: Int32Array;
  /** Classes ranked by vote, `rankWidth` per test row (with returnPredictions). */
  ranking?: Int32Array;
  rankWidth?: number;
}

export interface KnnNeighbors {
  k: number;
  /** [numTest, k] indices into the train set, most similar first. */
  indices: Int32Array;
  /** [numTest, k] cosine similarities. */
  similarities: Float32Array;
}

export interface KnnReport {
  T: number;
  numClasses: number;
  numTrain: number;
  numTest: number;
  /** One entry per k, in the order given. */
  results: KnnResult[];
  neighbors?: KnnNeighbors;
}

/**
 * @example
 * const report = await knnClassifier(train, trainLabels, test, testLabels, { k: [10, 20] });
 * report.results[1].top1; // accuracy of the 20-NN classifier, in percent
 */
export async function knnClassifier(
  trainFeatures: FeatureMatrix | tf.Tensor2D,
  trainLabels: ArrayLike<number>,
  testFeatures: FeatureMatrix | tf.Tensor2D,
  testLabels: ArrayLike<number>,
  opts: KnnOptions = {},
): Promise<KnnReport> {
  const train = await toFeatureMatrix(trainFeatures, 'trainFeatures');
  const test = await toFeatureMatrix(testFeatures, 'testFeatures');
  if (train.dim !== test.dim) throw new ShapeError(`trainFeatures dim ${train.dim} != testFeatures dim ${test.dim}`);
  if (trainLabels.length !== train.rows) throw new ShapeError(`${trainLabels.length} trainLabels for ${train.rows} train rows`);
  if (testLabels.length !== test.rows) throw new ShapeError(`${testLabels.length} testLabels for ${test.rows} test rows`);
  const ks = typeof opts.k === 'number' ? [opts.k] : [...(opts.k ?? DEFAULTS.knn.k)];
  if (ks.length === 0) throw new ConfigError('k', ks, 'must name at least one neighbour count');
  for (const k of ks) checkInt('k', k, 1, train.rows);
  const T = opts.T ?? DEFAULTS.knn.T;
  checkNumber('T', T, { min: 0, minExclusive: true });
  const chunkSize = opts.chunkSize ?? DEFAULTS.knn.chunkSize;
  checkInt('chunkSize', chunkSize, 1);
  const numClasses = opts.numClasses ?? maxLabel(trainLabels, testLabels) + 1;
  checkInt('numClasses', numClasses, 1);
  checkLabels('trainLabels', trainLabels, numClasses);
  checkLabels('testLabels', testLabels, numClasses);
  const normalize = opts.normalize ?? DEFAULTS.knn.normalize;

  const kmax = Math.max(...ks);
  const nTest = test.rows;
  const rankWidth = Math.min(5, numClasses);
  const correct1 = new Float64Array(ks.length);
  const correct5 = new Float64Array(ks.length);
  const ranking = opts.returnPredictions ? ks.map(() => new Int32Array(nTest * rankWidth)) : null;
  const neighbors = opts.returnNeighbors
    ? { k: kmax, indices: new Int32Array(nTest * kmax), similarities: new Float32Array(nTest * kmax) }
    : undefined;
  const labels = Int32Array.from(trainLabels);
  // T as the float32 the reference divides by.
  const t32 = Math.fround(T);
  const scores = new Float32Array(numClasses);
  const rank = new Int32Array(rankWidth);

  // [nTrain, dim] stays on the backend for the whole run; train x test^T is the fast matMul layout
  // (no transposed operand, which is slow on wasm).
  const trainT = tf.tidy(() => {
    const t = tf.tensor2d(train.data, [train.rows, train.dim]);
    return normalize ? l2Normalize(t) : t;
  });
  try {
    for (let start = 0; start < nTest; start += chunkSize) {
      const end = Math.min(start + chunkSize, nTest);
      const [valuesT, indicesT] = tf.tidy(() => {
        const q0 = tf.tensor2d(test.data.subarray(start * test.dim, end * test.dim), [end - start, test.dim]);
        const q = normalize ? l2Normalize(q0) : q0;
        const sim = tf.transpose(tf.matMul(trainT, tf.transpose(q))) as tf.Tensor2D;
        const { values, indices } = tf.topk(sim, kmax, true);
        return [values, indices];
      });
      const values = (await valuesT.data()) as Float32Array;
      const indices = (await indicesT.data()) as Int32Array;
      tf.dispose([valuesT, indicesT]);
      for (let r = 0; r < end - start; r++) {
        const row = start + r;
        const target = testLabels[row];
        const off = r * kmax;
        if (neighbors) {
          neighbors.indices.set(indices.subarray(off, off + kmax), row * kmax);
          neighbors.similarities.set(values.subarray(off, off + kmax), row * kmax);
        }
        for (let ki = 0; ki < ks.length; ki++) {
          const k = ks[ki];
          scores.fill(0);
          // float32 as the reference: distances / T, exp, summed over the neighbours in order.
          for (let j = 0; j < k; j++) {
            const w = Math.fround(Math.exp(Math.fround(values[off + j] / t32)));
            const c = labels[indices[off + j]];
            scores[c] = Math.fround(scores[c] + w);
          }
          rankClasses(scores, rank);
          if (rank[0] === target) correct1[ki]++;
          for (let j = 0; j < Math.min(5, k, rankWidth); j++) {
            if (rank[j] === target) {
              correct5[ki]++;
              break;
            }
          }
          ranking?.[ki].set(rank, row * rankWidth);
        }
      }
      opts.onProgress?.(end, nTest);
    }
  } finally {
    trainT.dispose();
  }

  const results: KnnResult[] = ks.map((k, ki) => {
    const res: KnnResult = {
      k,
      top1: (correct1[ki] * 100.0) / nTest,
      top5: numClasses >= 5 ? (correct5[ki] * 100.0) / nTest : null,
    };
    if (ranking) {
      res.ranking = ranking[ki];
      res.rankWidth = rankWidth;
      res.predictions = Int32Array.from({ length: nTest }, (_, i) => ranking[ki][i * rankWidth]);
    }
    return res;
  });
  return { T, numClasses, numTrain: train.rows, numTest: nTest, results, neighbors };
}

/**
 * The first `out.length` classes by descending score; equal scores keep the lower class first
 * (a stable sort, as torch's sort of a short row).
 */
function rankClasses(scores: Float32Array, out: Int32Array): void {
  const taken = new Uint8Array(scores.length);
  for (let j = 0; j < out.length; j++) {
    let best = -1;
    for (let c = 0; c < scores.length; c++) {
      if (!taken[c] && (best < 0 || scores[c] > scores[best])) best = c;
    }
    taken[best] = 1;
    out[j] = best;
  }
}

function maxLabel(...sets: ArrayLike<number>[]): number {
  let m = -1;
  for (const s of sets) for (let i = 0; i < s.length; i++) if (s[i] > m) m = s[i];
  return m;
}

function checkLabels(name: string, labels: ArrayLike<number>, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new ConfigError(`${name}[${i}]`, l, `must be an integer class index in [0, ${numClasses})`);
    }
  }
}

export interface EvaluateKnnOptions extends KnnOptions, Omit<ExtractOptions, 'onProgress' | 'normalize'> {
  /** Progress of each phase: 'train' and 'test' extraction, then 'knn'. */
  onProgress?: (done: number, total: number, phase?: 'train' | 'test' | 'knn') => void;
}

/**
 * The whole k-NN protocol on a backbone: extract train and test features, then `knnClassifier`.
 *
 * @example
 * const { results } = await evaluateKnn(teacherBackbone, trainSource, testSource, { k: 20 });
 */
export async function evaluateKnn(
  backbone: Backbone,
  trainSource: ImageSource,
  testSource: ImageSource,
  opts: EvaluateKnnOptions = {},
): Promise<KnnReport> {
  const progress = (phase: 'train' | 'test' | 'knn') => (done: number, total: number) => opts.onProgress?.(done, total, phase);
  const train = await extractFeatures(backbone, trainSource, { ...opts, normalize: false, onProgress: progress('train') });
  const test = await extractFeatures(backbone, testSource, { ...opts, normalize: false, onProgress: progress('test') });
  if (!train.labels || !test.labels) throw new ShapeError('evaluateKnn: both sources must return labels');
  return knnClassifier(train, train.labels, test, test.labels, { ...opts, onProgress: progress('knn') });
}
