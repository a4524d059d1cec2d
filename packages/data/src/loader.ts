import { ConfigError, Rng, checkInt, withDefaults } from '@dino-ts/core';
import { STREAM, hashInts } from './hash';
import { isSyncDataset, type Batch, type Dataset } from './types';

export interface DataLoaderOptions {
  /** Items per batch. */
  batchSize?: number;
  /** Visit items in a new seeded order each epoch (else in index order). */
  shuffle?: boolean;
  /** Seed of the per-epoch orders. */
  seed?: number;
  /** Leave out the last, smaller batch of an epoch (the reference trains with drop_last=True). */
  dropLast?: boolean;
  /** Batches loaded ahead while the current one is used (0 = none). */
  prefetch?: number;
}

/** The reference's per-GPU batch (main_dino.py --batch_size_per_gpu 64). */
export const LOADER_DEFAULTS = { batchSize: 64, shuffle: true, seed: 0, dropLast: false, prefetch: 1 };

/** A batch and where it sits in training. */
export interface LoaderBatch extends Batch {
  epoch: number;
  /** Index of the batch within its epoch. */
  iteration: number;
  /** epoch * batchesPerEpoch + iteration. */
  step: number;
}

/** A position in the stream of batches: the next batch to load. */
export interface LoaderPosition {
  epoch: number;
  iteration: number;
}

export interface IterateOptions {
  /** Start here (default epoch 0, iteration 0), e.g. from a checkpoint. */
  from?: Partial<LoaderPosition>;
  /** Stop before this epoch (default: never stop). */
  endEpoch?: number;
}

/**
 * Batches from a data set: a reproducible order per epoch (a permutation drawn from `Rng`
 * seeded by (seed, epoch), so any epoch's order is known without replaying the earlier ones,
 * and a resumed run sees exactly the batches an uninterrupted one would), an optional
 * drop-last, and prefetching: the next batch is requested before the current one is handed out,
 * so asynchronous decoding (image folders) overlaps the training step.
 *
 * @example
 * const loader = new DataLoader(new ShapesDataset(), { batchSize: 64, seed: 0 });
 * for await (const batch of loader.iterate({ from: { epoch: 0 }, endEpoch: 10 })) {
 *   const x = toTensor(batch); // [64, 32, 32, 3] in [0, 1]
 *   // ... train, then x.dispose()
 * }
 */
export class DataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly batchesPerEpoch: number;
  private cachedOrder: { epoch: number; order: Int32Array } | null = null;
  private readonly deferLoads: boolean;

  constructor(
    readonly dataset: Dataset,
    options: DataLoaderOptions = {},
  ) {
    const o = withDefaults(LOADER_DEFAULTS, options);
    checkInt('batchSize', o.batchSize, 1);
    checkInt('seed', o.seed, 0, 0xffffffff);
    checkInt('prefetch', o.prefetch, 0, 64);
    if (dataset.length === 0) throw new ConfigError('dataset', dataset.name, 'is empty: a loader needs at least one item');
    this.batchSize = o.batchSize;
    this.shuffle = o.shuffle;
    this.seed = o.seed;
    this.dropLast = o.dropLast;
    this.prefetch = o.prefetch;
    this.deferLoads = isSyncDataset(dataset);
    const n = dataset.length;
    this.batchesPerEpoch = o.dropLast ? Math.floor(n / o.batchSize) : Math.ceil(n / o.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new ConfigError(
        'batchSize',
        o.batchSize,
        `is larger than data set "${dataset.name}" (${n} items) with dropLast, so an epoch would have no batch; use a smaller batch or dropLast: false`,
      );
    }
  }

  /** The order in which epoch `epoch` visits the items. */
  order(epoch: number): Int32Array {
    checkInt('epoch', epoch, 0);
    if (this.cachedOrder?.epoch === epoch) return this.cachedOrder.order;
    const n = this.dataset.length;
    let order: Int32Array;
    if (this.shuffle) {
      order = new Rng(hashInts(STREAM.loaderEpoch, this.seed, epoch)).permutation(n);
    } else {
      order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
    }
    this.cachedOrder = { epoch, order };
    return order;
  }

  /** The data-set indices of batch `iteration` of epoch `epoch`. */
  batchIndices(epoch: number, iteration: number): Int32Array {
    checkInt('iteration', iteration, 0, this.batchesPerEpoch - 1);
    const start = iteration * this.batchSize;
    return this.order(epoch).slice(start, Math.min(start + this.batchSize, this.dataset.length));
  }

  /** Loads one batch (no prefetching). */
  async load(epoch: number, iteration: number): Promise<LoaderBatch> {
    const indices = this.batchIndices(epoch, iteration);
    const batch = await this.dataset.getBatch(indices);
    return { ...batch, epoch, iteration, step: epoch * this.batchesPerEpoch + iteration };
  }

  /** The position after `batch`: where a run resumed from a checkpoint taken then continues. */
  positionAfter(batch: Pick<LoaderBatch, 'epoch' | 'iteration'>): LoaderPosition {
    return batch.iteration + 1 < this.batchesPerEpoch
      ? { epoch: batch.epoch, iteration: batch.iteration + 1 }
      : { epoch: batch.epoch + 1, iteration: 0 };
  }

  /**
   * Batches from `from` (default the start) up to `endEpoch` (default: forever), with
   * `prefetch` batches requested ahead of the one being used.
   */
  async *iterate(opts: IterateOptions = {}): AsyncGenerator<LoaderBatch> {
    let epoch = opts.from?.epoch ?? 0;
    let iteration = opts.from?.iteration ?? 0;
    const endEpoch = opts.endEpoch ?? Infinity;
    checkInt('from.epoch', epoch, 0);
    checkInt('from.iteration', iteration, 0, this.batchesPerEpoch - 1);
    if (endEpoch !== Infinity) checkInt('endEpoch', endEpoch, 0);
    const queue: Promise<LoaderBatch>[] = [];
    const fill = () => {
      while (queue.length < this.prefetch + 1 && epoch < endEpoch) {
        queue.push(this.schedule(epoch, iteration));
        ({ epoch, iteration } = this.positionAfter({ epoch, iteration }));
      }
    };
    for (;;) {
      fill();
      const next = queue.shift();
      if (!next) return;
      yield await next;
    }
  }

  /** One epoch's batches, optionally from a given iteration. */
  epoch(epoch: number, startIteration = 0): AsyncGenerator<LoaderBatch> {
    return this.iterate({ from: { epoch, iteration: startIteration }, endEpoch: epoch + 1 });
  }

  /**
   * Starts loading a batch. An asynchronous data set (image folders) is asked at once, so its
   * decoding runs while the current batch trains. A synchronous one (computed shapes, arrays in
   * memory) would do all its work right here, before the current batch is handed out; it is
   * asked on the next turn of the event loop instead, i.e. while the consumer awaits.
   */
  private schedule(epoch: number, iteration: number): Promise<LoaderBatch> {
    const p = this.deferLoads
      ? new Promise<LoaderBatch>((resolve, reject) => {
          nextTurn(() => this.load(epoch, iteration).then(resolve, reject));
        })
      : this.load(epoch, iteration);
    // A prefetched batch may fail before anyone awaits it; the error is delivered when it is
    // awaited, so do not let Node report it as unhandled meanwhile.
    p.catch(() => undefined);
    return p;
  }
}

/**
 * Runs `fn` on a later turn of the event loop, after pending I/O and rendering: `setImmediate`
 * in Node; in a browser, which has none, a MessageChannel message (not `setTimeout(0)`, which
 * browsers clamp to 4 ms once timers nest).
 */
const nextTurn: (fn: () => void) => void = (() => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return (fn) => void g.setImmediate!(fn);
  if (typeof MessageChannel === 'function') {
    const queue: Array<() => void> = [];
    const channel = new MessageChannel();
    channel.port1.onmessage = () => queue.shift()!();
    return (fn) => {
      queue.push(fn);
      channel.port2.postMessage(null);
    };
  }
  return (fn) => void setTimeout(fn, 0);
})();
