import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '@dino-ts/core';
import { describeBackends, fx } from '@dino-ts/core/testing';
import { knnClassifier } from './knn';
import { evalFixture, ints, metaNumbers } from './testing';

const { tensors, metadata } = evalFixture('knn.safetensors');
const trainF = fx(tensors, 'train_features');
const testF = fx(tensors, 'test_features');
const trainLabels = ints(tensors, 'train_labels');
const testLabels = ints(tensors, 'test_labels');
const dim = tensors.train_features.shape[1];
const train = { data: trainF, rows: trainLabels.length, dim };
const test = { data: testF, rows: testLabels.length, dim };
const ks = metaNumbers(metadata, 'ks');

describeBackends('knnClassifier vs eval_knn.knn_classifier', () => {
  it('reproduces top-1 / top-5 accuracy, the class ranking and the neighbours of every test row', async () => {
    // A chunk size that does not divide the test set, so the last chunk is partial.
    const report = await knnClassifier(train, trainLabels, test, testLabels, {
      k: ks, T: Number(metadata.T), numClasses: Number(metadata.num_classes), chunkSize: 64,
      returnPredictions: true, returnNeighbors: true,
    });
    for (const r of report.results) {
      expect(r.top1, `top1 k=${r.k}`).toBe(Number(metadata[`top1_k${r.k}`]));
      expect(r.top5, `top5 k=${r.k}`).toBe(Number(metadata[`top5_k${r.k}`]));
      expect(Array.from(r.ranking!), `ranking k=${r.k}`).toEqual(Array.from(ints(tensors, `ranking_k${r.k}`)));
    }
    // Neighbours of k=20 are the first 20 of the largest k.
    const kmax = report.neighbors!.k;
    const expected = ints(tensors, 'neighbors_k20');
    const got = new Int32Array(test.rows * 20);
    for (let i = 0; i < test.rows; i++) got.set(report.neighbors!.indices.subarray(i * kmax, i * kmax + 20), i * 20);
    expect(Array.from(got)).toEqual(Array.from(expected));
  });

  it('accepts tensors and frees everything it allocates', async () => {
    const trainT = tf.tensor2d(trainF, [train.rows, dim]);
    const testT = tf.tensor2d(testF, [test.rows, dim]);
    const before = tf.memory().numTensors;
    const a = await knnClassifier(trainT, trainLabels, testT, testLabels, { k: 20, chunkSize: 50 });
    const b = await knnClassifier(trainT, trainLabels, testT, testLabels, { k: 20, chunkSize: 50 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.results[0].top1).toBe(Number(metadata.top1_k20));
    expect(b.results[0].top1).toBe(a.results[0].top1);
  });
});

describe('knnClassifier options', () => {
  it('reports no top-5 with fewer than 5 classes, infers numClasses, and rejects bad input', async () => {
    const f = { data: Float32Array.from([1, 0, 0, 1, 1, 0.1]), rows: 3, dim: 2 };
    const r = await knnClassifier(f, [0, 1, 0], f, [0, 1, 0], { k: [1, 2] });
    expect(r.numClasses).toBe(2);
    expect(r.results[0]).toMatchObject({ k: 1, top1: 100, top5: null });
    await expect(knnClassifier(f, [0, 1, 0], f, [0, 1, 0], { k: 4 })).rejects.toThrow(ConfigError);
    await expect(knnClassifier(f, [0, 1, 0], f, [0, 1, 0], { k: 1, T: 0 })).rejects.toThrow(/T = 0/);
    await expect(knnClassifier(f, [0, 1, 0], f, [0, 1, 0], { k: 1, numClasses: 1 })).rejects.toThrow(/trainLabels\[1\]/);
    await expect(knnClassifier(f, [0, 1], f, [0, 1, 0], { k: 1 })).rejects.toThrow(ShapeError);
  });
});
