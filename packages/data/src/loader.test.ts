import { describe, expect, it } from 'vitest';
import { ArrayDataset, DataLoader, ShapesDataset, collate, type Batch, type DataItem, type Dataset, type LoaderBatch } from './index';

/** n items of 2x2x1 whose pixel values encode the index; label = index % 3. */
function tiny(n: number): ArrayDataset {
  const images = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i % 256, 4 * i, 4 * i + 4);
  return new ArrayDataset({ name: 'tiny', images, height: 2, width: 2, channels: 1, labels: Uint8Array.from({ length: n }, (_, i) => i % 3), classNames: ['a', 'b', 'c'] });
}

async function collect(it: AsyncIterable<LoaderBatch>, max = Infinity): Promise<LoaderBatch[]> {
  const out: LoaderBatch[] = [];
  for await (const b of it) {
    out.push(b);
    if (out.length >= max) break;
  }
  return out;
}

const ids = (bs: LoaderBatch[]) => bs.map((b) => Array.from(b.indices));

/** An asynchronous data set that logs when batches are requested and delivered. */
class LoggingDataset implements Dataset {
  readonly name = 'logging';
  readonly height = 1;
  readonly width = 1;
  readonly channels = 1;
  readonly numClasses = 0;
  readonly classNames = [];
  constructor(
    readonly length: number,
    readonly log: string[],
    private readonly failAt = -1,
  ) {}
  async get(i: number): Promise<DataItem> {
    return { image: new Uint8Array([i]) };
  }
  async getBatch(indices: ArrayLike<number>): Promise<Batch> {
    const first = indices[0];
    this.log.push(`request ${first}`);
    await new Promise((r) => setTimeout(r, 5));
    if (first === this.failAt) throw new Error(`batch starting at ${first} failed`);
    this.log.push(`ready ${first}`);
    return collate(this, Array.from(indices, (i) => ({ image: new Uint8Array([i]) })), indices);
  }
}

describe('DataLoader', () => {
  it('counts batches per epoch with and without dropLast', () => {
    expect(new DataLoader(tiny(10), { batchSize: 4 }).batchesPerEpoch).toBe(3);
    expect(new DataLoader(tiny(10), { batchSize: 4, dropLast: true }).batchesPerEpoch).toBe(2);
    expect(new DataLoader(tiny(8), { batchSize: 4, dropLast: true }).batchesPerEpoch).toBe(2);
    expect(() => new DataLoader(tiny(3), { batchSize: 4, dropLast: true })).toThrow(/batchSize = 4: is larger than data set "tiny" \(3 items\) with dropLast/);
    expect(() => new DataLoader(tiny(3), { batchSize: 0 })).toThrow(/batchSize = 0/);
  });

  it('visits every item once per epoch, in an order fixed by (seed, epoch)', async () => {
    const ds = tiny(10);
    const a = new DataLoader(ds, { batchSize: 4, seed: 7 });
    const b = new DataLoader(ds, { batchSize: 4, seed: 7 });
    const c = new DataLoader(ds, { batchSize: 4, seed: 8 });
    const e0 = await collect(a.epoch(0));
    expect(e0.map((x) => x.indices.length)).toEqual([4, 4, 2]);
    expect(ids(e0).flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(ids(await collect(b.epoch(0)))).toEqual(ids(e0));
    expect(ids(await collect(a.epoch(1)))).not.toEqual(ids(e0));
    expect(ids(await collect(c.epoch(0)))).not.toEqual(ids(e0));
    // The order of epoch 5 does not depend on having run epochs 0-4.
    expect(ids(await collect(new DataLoader(ds, { batchSize: 4, seed: 7 }).epoch(5)))).toEqual(ids(await collect(a.epoch(5))));
    // Batches carry the images and labels of their indices.
    const batch = e0[1];
    expect(batch.shape).toEqual([4, 2, 2, 1]);
    batch.indices.forEach((i, k) => {
      expect(batch.images[k * 4]).toBeCloseTo(i / 255, 6);
      expect(batch.labels[k]).toBe(i % 3);
    });
    expect([batch.epoch, batch.iteration, batch.step]).toEqual([0, 1, 1]);
    // shuffle: false keeps index order.
    expect(ids(await collect(new DataLoader(ds, { batchSize: 4, shuffle: false }).epoch(3))).flat()).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('resumes from (epoch, iteration) with exactly the batches an uninterrupted run sees', async () => {
    const ds = new ShapesDataset({ length: 23, size: 8 });
    const loader = new DataLoader(ds, { batchSize: 5, seed: 3, dropLast: true });
    const full = await collect(loader.iterate({ endEpoch: 3 }));
    expect(full).toHaveLength(3 * 4);
    const cut = 6; // stop after 6 batches, as if a checkpoint was taken
    const from = loader.positionAfter(full[cut - 1]);
    expect(from).toEqual({ epoch: 1, iteration: 2 });
    const resumed = new DataLoader(ds, { batchSize: 5, seed: 3, dropLast: true });
    const rest = await collect(resumed.iterate({ from, endEpoch: 3 }));
    expect(ids(rest)).toEqual(ids(full.slice(cut)));
    expect(rest.map((b) => b.step)).toEqual(full.slice(cut).map((b) => b.step));
    expect(Array.from(rest[0].images)).toEqual(Array.from(full[cut].images));
    expect(positionAfterLast(loader, full)).toEqual({ epoch: 3, iteration: 0 });
    // Endless by default.
    expect(await collect(loader.iterate({ from: { epoch: 100 } }), 9)).toHaveLength(9);
    await expect(collect(loader.iterate({ from: { epoch: 0, iteration: 4 } }))).rejects.toThrow(/from\.iteration = 4: must be an integer in \[0, 3\]/);
  });

  it('prefetches: the next batch is requested before the current one is handed out and used', async () => {
    const log: string[] = [];
    const loader = new DataLoader(new LoggingDataset(12, log), { batchSize: 4, shuffle: false, prefetch: 1 });
    for await (const b of loader.epoch(0)) {
      log.push(`use ${b.indices[0]}`);
      await new Promise((r) => setTimeout(r, 10)); // the training step
      log.push(`done ${b.indices[0]}`);
    }
    expect(log.indexOf('request 4')).toBeLessThan(log.indexOf('use 0'));
    expect(log.indexOf('request 8')).toBeLessThan(log.indexOf('use 4'));
    // Only one batch ahead: batch 8 is not requested before batch 0 is done.
    expect(log.indexOf('request 8')).toBeGreaterThan(log.indexOf('done 0'));
    // Loading overlaps the step: batch 4 is ready before the step on batch 0 ends.
    expect(log.indexOf('ready 4')).toBeLessThan(log.indexOf('done 0'));

    const plain: string[] = [];
    for await (const b of new DataLoader(new LoggingDataset(8, plain), { batchSize: 4, shuffle: false, prefetch: 0 }).epoch(0)) plain.push(`use ${b.indices[0]}`);
    expect(plain).toEqual(['request 0', 'ready 0', 'use 0', 'request 4', 'ready 4', 'use 4']);
  });

  it('prefetches synchronous data sets while the consumer awaits, not before handing out the batch', async () => {
    const log: string[] = [];
    class LoggingShapes extends ShapesDataset {
      override getBatchSync(indices: ArrayLike<number>) {
        log.push(`compute ${indices[0]}`);
        return super.getBatchSync(indices);
      }
    }
    const loader = new DataLoader(new LoggingShapes({ length: 8, size: 8 }), { batchSize: 4, shuffle: false });
    for await (const b of loader.epoch(0)) {
      log.push(`use ${b.indices[0]}`);
      await new Promise((r) => setTimeout(r, 1));
      log.push(`done ${b.indices[0]}`);
    }
    // Batch 4 is computed after batch 0 is handed out, during its step.
    expect(log).toEqual(['compute 0', 'use 0', 'compute 4', 'done 0', 'use 4', 'done 4']);
  });

  it('delivers a failed batch as an error when it is reached, not as an unhandled rejection', async () => {
    const log: string[] = [];
    const loader = new DataLoader(new LoggingDataset(12, log, 4), { batchSize: 4, shuffle: false });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const b of loader.epoch(0)) seen.push(b.indices[0]);
      })(),
    ).rejects.toThrow(/batch starting at 4 failed/);
    expect(seen).toEqual([0]);
  });
});

function positionAfterLast(loader: DataLoader, bs: LoaderBatch[]) {
  return loader.positionAfter(bs[bs.length - 1]);
}
