import { describe, expect, it } from 'vitest';
import { allInOrder } from './files';

const later = <T>(ms: number, v: T, fail = false) =>
  new Promise<T>((res, rej) => setTimeout(() => (fail ? rej(new Error(String(v))) : res(v)), ms));

describe('allInOrder', () => {
  it('resolves to the values in list order', async () => {
    expect(await allInOrder([later(20, 'a'), later(1, 'b')])).toEqual(['a', 'b']);
  });

  it('throws the error of the first failing read in list order, even when a later one fails sooner', async () => {
    await expect(allInOrder([later(30, 'images', true), later(1, 'labels', true)])).rejects.toThrow('images');
    await expect(allInOrder([later(1, 'ok'), later(30, 'labels', true)])).rejects.toThrow('labels');
  });
});
