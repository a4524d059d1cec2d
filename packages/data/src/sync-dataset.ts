import { checkIndex, collate } from './collate';
import type { Batch, DataItem, SyncDataset } from './types';

/**
 * Base for data sets that can produce an item synchronously (in memory or computed): subclasses
 * write `item(i)`; index checks, batching and the async methods come from here.
 */
export abstract class SyncDatasetBase implements SyncDataset {
  abstract readonly name: string;
  abstract readonly length: number;
  abstract readonly height: number;
  abstract readonly width: number;
  abstract readonly channels: number;
  abstract readonly numClasses: number;
  abstract readonly classNames: readonly string[];

  /** Item `i`, already range-checked. */
  protected abstract item(i: number): DataItem;

  getSync(i: number): DataItem {
    checkIndex(this, i);
    return this.item(i);
  }

  getBatchSync(indices: ArrayLike<number>): Batch {
    const items: DataItem[] = [];
    for (let b = 0; b < indices.length; b++) items.push(this.getSync(indices[b]));
    return collate(this, items, indices);
  }

  async get(i: number): Promise<DataItem> {
    return this.getSync(i);
  }

  async getBatch(indices: ArrayLike<number>): Promise<Batch> {
    return this.getBatchSync(indices);
  }
}
