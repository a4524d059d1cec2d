import { ConfigError, Rng, checkInt, checkNumber } from '@dino-ts/core';
import { checkIndex } from './collate';
import { STREAM, hashInts } from './hash';
import { isSyncDataset, type Batch, type DataItem, type Dataset, type SyncDataset } from './types';

/** A view of some items of another data set, in the given order (no data is copied). */
class SubsetDataset implements Dataset {
  readonly name: string;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];

  constructor(
    protected readonly base: Dataset,
    protected readonly map: Int32Array,
    name: string,
  ) {
    this.name = name;
    this.length = map.length;
    this.height = base.height;
    this.width = base.width;
    this.channels = base.channels;
    this.numClasses = base.numClasses;
    this.classNames = base.classNames;
  }

  protected mapIndices(indices: ArrayLike<number>): Int32Array {
    const out = new Int32Array(indices.length);
    for (let b = 0; b < indices.length; b++) {
      checkIndex(this, indices[b]);
      out[b] = this.map[indices[b]];
    }
    return out;
  }

  /** Rewrites a base batch's indices into this subset's index space. */
  protected relabel(batch: Batch, indices: ArrayLike<number>): Batch {
    for (let b = 0; b < indices.length; b++) batch.indices[b] = indices[b];
    return batch;
  }

  async get(i: number): Promise<DataItem> {
    checkIndex(this, i);
    return this.base.get(this.map[i]);
  }

  async getBatch(indices: ArrayLike<number>): Promise<Batch> {
    return this.relabel(await this.base.getBatch(this.mapIndices(indices)), indices);
  }
}

class SyncSubsetDataset extends SubsetDataset implements SyncDataset {
  getSync(i: number): DataItem {
    checkIndex(this, i);
    return (this.base as SyncDataset).getSync(this.map[i]);
  }

  getBatchSync(indices: ArrayLike<number>): Batch {
    return this.relabel((this.base as SyncDataset).getBatchSync(this.mapIndices(indices)), indices);
  }
}

/**
 * The items of `dataset` at `indices` (in that order), as a data set. Synchronous access is kept
 * when the base has it.
 *
 * @example
 * const firstHundred = subset(shapes, Array.from({ length: 100 }, (_, i) => i));
 */
export function subset<D extends Dataset>(
  dataset: D,
  indices: ArrayLike<number>,
  name = `${dataset.name}[subset]`,
): D extends SyncDataset ? SyncDataset : Dataset {
  const map = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= dataset.length) {
      throw new ConfigError(
        `indices[${k}]`,
        i,
        `must be an integer in [0, ${dataset.length - 1}] (data set "${dataset.name}" has ${dataset.length} items)`,
      );
    }
    map[k] = i;
  }
  const out = isSyncDataset(dataset) ? new SyncSubsetDataset(dataset, map, name) : new SubsetDataset(dataset, map, name);
  SUBSET_INDICES.set(out, map);
  return out as unknown as D extends SyncDataset ? SyncDataset : Dataset;
}

/** The base indices of each subset made here (read by `indicesInBase`, not changed). */
const SUBSET_INDICES = new WeakMap<Dataset, Int32Array>();

/** The indices into its base of a data set made by `subset` / `splitDataset`; undefined for any other. */
export function indicesInBase(d: Dataset): Int32Array | undefined {
  return SUBSET_INDICES.get(d);
}

/**
 * `count` distinct indices drawn without replacement from [0, n) by `seed`, in random order:
 * a seeded random subset (data sets on disk are often sorted by class, so the first n are not).
 *
 * @example
 * const bank = subset(train, randomIndices(train.length, 5000, 0));
 */
export function randomIndices(n: number, count: number, seed = 0): Int32Array {
  checkInt('n', n, 0);
  checkInt('count', count, 0, n);
  return new Rng(hashInts(STREAM.split, seed, n)).permutation(n).slice(0, count);
}

/**
 * At most `count` items of `dataset`: the data set itself when `count` is undefined, 0 or not
 * below its length, else a seeded random subset (`randomIndices`), not the first items, which
 * on disk are often sorted by class.
 *
 * @example
 * const bank = randomSubset(train, 5000, 0); // 5000 items, or all of a smaller train
 */
export function randomSubset<D extends Dataset>(dataset: D, count: number | undefined, seed = 0): D | (D extends SyncDataset ? SyncDataset : Dataset) {
  if (!count || count >= dataset.length) return dataset;
  return subset(dataset, randomIndices(dataset.length, count, seed));
}

export interface SplitOptions {
  /** Shuffle before cutting (by `seed`); default true. */
  shuffle?: boolean;
  seed?: number;
}

type SplitResult<D extends Dataset> = (D extends SyncDataset ? SyncDataset : Dataset)[];

/**
 * Cuts `dataset` into disjoint parts.
 *
 * - `parts` an array: fractions summing to 1 (e.g. [0.8, 0.2]; the last part takes the rounding
 *   remainder) or item counts summing to at most the length, one part each.
 * - `parts` a number: a held-out count; returns [rest, heldOut].
 *
 * The items are first permuted by `seed` (unless `shuffle: false`), so a split is reproducible.
 *
 * @example
 * const [train, val] = splitDataset(shapes, [0.9, 0.1], { seed: 1 });
 * const [rest, heldOut] = splitDataset(folder, 100, 1);
 */
export function splitDataset<D extends Dataset>(
  dataset: D,
  parts: readonly number[] | number,
  opts: SplitOptions | number = {},
): SplitResult<D> {
  const { shuffle = true, seed = 0 } = typeof opts === 'number' ? { seed: opts } : opts;
  if (typeof parts === 'number') {
    checkInt('heldOut', parts, 0, dataset.length);
    return splitDataset(dataset, [dataset.length - parts, parts], { shuffle, seed });
  }
  if (parts.length === 0) throw new ConfigError('parts', '[]', 'must list at least one part');
  const n = dataset.length;
  const fractional = parts.every((p) => p > 0 && p < 1) || (parts.length === 1 && parts[0] === 1);
  let counts: number[];
  if (fractional) {
    parts.forEach((p, k) => checkNumber(`parts[${k}]`, p, { min: 0, max: 1 }));
    const sum = parts.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-6) {
      throw new ConfigError('parts', [...parts], `fractions must sum to 1 (they sum to ${sum})`);
    }
    counts = parts.map((p) => Math.floor(p * n));
    counts[counts.length - 1] = n - counts.slice(0, -1).reduce((a, b) => a + b, 0);
  } else {
    parts.forEach((p, k) => checkInt(`parts[${k}]`, p, 0));
    const sum = parts.reduce((a, b) => a + b, 0);
    if (sum > n) {
      throw new ConfigError('parts', [...parts], `counts sum to ${sum} but data set "${dataset.name}" has ${n} items`);
    }
    counts = [...parts];
  }
  let order: Int32Array;
  if (shuffle) {
    order = new Rng(hashInts(STREAM.split, seed, n, 1)).permutation(n);
  } else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  const out: SplitResult<D> = [];
  let start = 0;
  counts.forEach((c, k) => {
    out.push(subset(dataset, order.subarray(start, start + c), `${dataset.name}[part ${k}]`));
    start += c;
  });
  return out;
}
