/**
 * Raw-pixel k-NN on Fashion-MNIST against the reference knn_classifier run on the same pixels
 * (scripts/fixtures/make_eval.py): a 5000 / 500 subset always, the full 60k / 10k protocol with
 * DINO_SLOW_TESTS=1 (about a minute on the wasm backend; also `node bench/knn.bench.mjs`).
 */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeBackends } from '@dino-ts/core/testing';
import { FASHION_MNIST_DIR, loadFashionMnist } from '@dino-ts/data/node';
import { knnClassifier } from './knn';
import type { FeatureMatrix } from './features';
import { evalFixture, ints } from './testing';

const haveData = existsSync(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`);
const slow = process.env.DINO_SLOW_TESTS === '1';

async function pixels(split: 'train' | 'test', n: number): Promise<{ features: FeatureMatrix; labels: Int32Array }> {
  const ds = await loadFashionMnist({ split });
  const b = await ds.getBatch(Array.from({ length: n }, (_, i) => i));
  return { features: { data: b.images, rows: n, dim: 28 * 28 }, labels: b.labels };
}

describeBackends('raw-pixel k-NN on Fashion-MNIST vs eval_knn', () => {
  const { tensors, metadata } = evalFixture('knn_fmnist.safetensors');

  it.skipIf(!haveData)('reproduces the reference on the first 5000 train / 500 test images (k = 10, 20, 100, 200)', async () => {
    const train = await pixels('train', Number(metadata.subset_train));
    const test = await pixels('test', Number(metadata.subset_test));
    const report = await knnClassifier(train.features, train.labels, test.features, test.labels, {
      k: [10, 20, 100, 200], T: 0.07, numClasses: 10, returnPredictions: true,
    });
    for (const r of report.results) {
      expect(r.top1, `top1 k=${r.k}`).toBe(Number(metadata[`subset_top1_k${r.k}`]));
      expect(r.top5, `top5 k=${r.k}`).toBe(Number(metadata[`subset_top5_k${r.k}`]));
    }
    expect(Array.from(report.results[1].predictions!)).toEqual(Array.from(ints(tensors, 'subset_prediction_k20')));
  });
  // wasm only: the cpu backend's matMul takes ~25 s here; knn.test.ts checks the same code on cpu.
}, ['wasm']);

it.skipIf(!haveData || !slow)('full protocol: 60k train vs 10k test, k = 20, T = 0.07 (DINO_SLOW_TESTS=1)', async () => {
  const { useBackend } = await import('@dino-ts/core/testing');
  await useBackend('wasm');
  const { tensors, metadata } = evalFixture('knn_fmnist.safetensors');
  const train = await pixels('train', 60000);
  const test = await pixels('test', 10000);
  const t0 = performance.now();
  const report = await knnClassifier(train.features, train.labels, test.features, test.labels, {
    k: 20, T: 0.07, numClasses: 10, returnPredictions: true,
  });
  const seconds = (performance.now() - t0) / 1000;
  const r = report.results[0];
  console.log(`Fashion-MNIST raw pixels, k=20: top1 ${r.top1}% top5 ${r.top5}% (reference ${metadata.full_top1_k20}% / ${metadata.full_top5_k20}%), ${seconds.toFixed(1)} s`);
  expect(r.top1).toBe(Number(metadata.full_top1_k20));
  expect(r.top5).toBe(Number(metadata.full_top5_k20));
  expect(Array.from(r.predictions!)).toEqual(Array.from(ints(tensors, 'full_prediction_k20')));
});
