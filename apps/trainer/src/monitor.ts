/**
 * The k-NN monitor run during training (reference eval_knn protocol on the held-out split, with
 * a bounded memory bank of training images so it costs seconds, not minutes).
 */
import type { Backbone } from '@dino-ts/backbones';
import { evaluateKnn, fromIndexedDataset } from '@dino-ts/eval';
import type { TrainConfig } from './config';
import { firstItems, type OpenedData } from './datasets';
import { bankOf } from './evaluations';

/** Training images used as the k-NN memory bank during training. */
export const MONITOR_BANK = 2048;
/** Held-out images scored by the monitor. */
export const MONITOR_TEST = 1000;

export async function knnMonitor(backbone: Backbone, d: OpenedData, c: TrainConfig, bank = MONITOR_BANK): Promise<number> {
  const train = bankOf(d, c.seed, bank);
  const norm = { mean: d.mean, std: d.std };
  const report = await evaluateKnn(backbone, fromIndexedDataset(train, norm), fromIndexedDataset(firstItems(d.test, MONITOR_TEST), norm), {
    k: [c.knnK],
    T: c.knnT,
    numClasses: d.train.numClasses,
    batchSize: 256,
  });
  return report.results[0].top1 / 100;
}
