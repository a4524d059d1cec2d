/**
 * Raw-pixel weighted k-NN (eval_knn.py's classifier, here `knnClassifier` itself) on the embedded
 * shapes data set: a check of the data set (its classes are not separable by pixel colour, yet
 * not noise either), kept here because the data package cannot depend on this one.
 */
import { expect, it } from 'vitest';
import { ShapesDataset } from '@dino-ts/data';
import { useBackend } from '@dino-ts/core/testing';
import { knnClassifier } from './knn';
import type { FeatureMatrix } from './features';

/** Items [start, start + n) of `ds` as a pixel matrix and labels. */
function pixels(ds: ShapesDataset, start: number, n: number): { features: FeatureMatrix; labels: Int32Array } {
  const b = ds.getBatchSync(Array.from({ length: n }, (_, i) => start + i));
  return { features: { data: b.images, rows: n, dim: ds.height * ds.width * ds.channels }, labels: b.labels };
}

it('shapes: raw-pixel k-NN (k=20, T=0.07, cosine) is poor but above chance', async () => {
  await useBackend('wasm');
  const ds = new ShapesDataset({ length: 2500, size: 32, seed: 0 });
  const nTrain = 2000;
  const train = pixels(ds, 0, nTrain);
  const test = pixels(ds, nTrain, ds.length - nTrain);
  const report = await knnClassifier(train.features, train.labels, test.features, test.labels, {
    k: 20, T: 0.07, numClasses: ds.numClasses,
  });
  const acc = report.results[0].top1 / 100;
  const chance = 1 / ds.numClasses;
  console.log(`shapes32 raw-pixel k-NN: ${(acc * 100).toFixed(1)}% (chance ${(chance * 100).toFixed(0)}%, ${nTrain} train / ${ds.length - nTrain} test)`);
  expect(acc).toBeLessThan(0.6);
  // 500 test items: the standard error at chance is 1.3 points.
  expect(acc).toBeGreaterThan(chance + 0.025);
});
