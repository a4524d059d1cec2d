import { checkInt } from '@dino-ts/core';
import type { Dataset } from './types';

export interface ChannelStats {
  /** Per-channel mean of pixel values in [0, 1]. */
  mean: number[];
  /** Per-channel standard deviation. */
  std: number[];
}

/**
 * Per-channel mean and standard deviation over (the first `maxItems` of) a data set, on the
 * [0, 1] scale: the "normalise with the data set's mean/std" step of the augmentations.
 *
 * @example
 * const { mean, std } = await channelStats(await loadFashionMnist(), { maxItems: 10000 });
 */
export async function channelStats(dataset: Dataset, opts: { maxItems?: number; batchSize?: number } = {}): Promise<ChannelStats> {
  const n = Math.min(dataset.length, opts.maxItems ?? dataset.length);
  const batchSize = opts.batchSize ?? 256;
  checkInt('maxItems', n, 1);
  checkInt('batchSize', batchSize, 1);
  const c = dataset.channels;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let start = 0; start < n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - start) }, (_, k) => start + k);
    const { images } = await dataset.getBatch(idx);
    for (let k = 0; k < images.length; k++) {
      const v = images[k];
      sum[k % c] += v;
      sq[k % c] += v * v;
    }
  }
  const count = n * dataset.height * dataset.width;
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, ch) => Math.sqrt(Math.max(0, s / count - mean[ch] ** 2)));
  return { mean, std };
}
