import * as tf from '@tensorflow/tfjs-core';
import type { SyncDataset } from './types';

/**
 * Raw-pixel weighted k-NN as in DINO's eval_knn.py: L2-normalised pixels, cosine similarity,
 * the top k neighbours vote with weight exp(sim / T). Items [0, nTrain) are the bank, the next
 * nTest the queries. Runs on the active tfjs backend. Test helper only.
 */
export async function knnAccuracy(
  ds: SyncDataset,
  nTrain: number,
  nTest: number,
  { k, temperature }: { k: number; temperature: number },
): Promise<number> {
  const load = (start: number, n: number) => ds.getBatchSync(Array.from({ length: n }, (_, i) => start + i));
  const train = load(0, nTrain);
  const test = load(nTrain, nTest);
  const d = ds.height * ds.width * ds.channels;
  const [sims, idx] = tf.tidy(() => {
    const normed = (x: Float32Array, n: number) => {
      const t = tf.tensor2d(x, [n, d]);
      return tf.div(t, tf.add(tf.sqrt(tf.sum(tf.square(t), 1, true)), 1e-12));
    };
    // A plain matMul against the transposed bank: transposeB is slow on the wasm backend.
    const s = tf.matMul(normed(test.images, nTest), tf.transpose(normed(train.images, nTrain)));
    const { values, indices } = tf.topk(s, k);
    return [values, indices];
  });
  const simData = await sims.data();
  const idxData = await idx.data();
  tf.dispose([sims, idx]);
  let correct = 0;
  for (let q = 0; q < nTest; q++) {
    const votes = new Float64Array(ds.numClasses);
    for (let m = 0; m < k; m++) votes[train.labels[idxData[q * k + m]]] += Math.exp(simData[q * k + m] / temperature);
    let best = 0;
    for (let c = 1; c < ds.numClasses; c++) if (votes[c] > votes[best]) best = c;
    if (best === test.labels[q]) correct++;
  }
  return correct / nTest;
}
