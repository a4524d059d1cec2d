import { describe, expect, it } from 'vitest';
import { ArrayDataset, ShapesDataset, isSyncDataset, randomIndices, splitDataset, subset } from './index';

function numbered(n: number): ArrayDataset {
  return new ArrayDataset({ name: 'num', images: Uint8Array.from({ length: n }, (_, i) => i), height: 1, width: 1, channels: 1, labels: Uint8Array.from({ length: n }, (_, i) => i % 2), classNames: ['even', 'odd'] });
}

describe('subset and splits', () => {
  it('subset maps indices and keeps synchronous access', async () => {
    const ds = numbered(10);
    const s = subset(ds, [7, 2, 9]);
    expect(s.length).toBe(3);
    expect(isSyncDataset(s)).toBe(true);
    expect(Array.from(s.getSync(0).image)).toEqual([7]);
    expect((await s.get(2)).label).toBe(1);
    const b = await s.getBatch([2, 0]);
    expect(Array.from(b.indices)).toEqual([2, 0]); // indices of the subset, not of the base
    expect(Array.from(b.images).map((v) => Math.round(v * 255))).toEqual([9, 7]);
    expect([s.numClasses, s.height, s.channels]).toEqual([2, 1, 1]);
    expect(() => subset(ds, [3, 10])).toThrow(/indices\[1\] = 10: must be an integer in \[0, 9\]/);
    expect(() => s.getSync(3)).toThrow(/index = 3/);
    // Masks pass through.
    const shapes = subset(new ShapesDataset({ length: 5, size: 8 }), [4]);
    expect((await shapes.getBatch([0])).masks).toHaveLength(64);
  });

  it('splitDataset: fractions, counts, held-out count; disjoint, covering, reproducible', () => {
    const ds = numbered(103);
    const items = (d: { length: number; getSync(i: number): { image: Uint8Array | Float32Array } }) => Array.from({ length: d.length }, (_, i) => d.getSync(i).image[0]);
    const [a, b] = splitDataset(ds, [0.8, 0.2], { seed: 1 });
    expect([a.length, b.length]).toEqual([82, 21]);
    expect([...items(a), ...items(b)].sort((x, y) => x - y)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    const [a2] = splitDataset(ds, [0.8, 0.2], { seed: 1 });
    expect(items(a2)).toEqual(items(a));
    expect(items(splitDataset(ds, [0.8, 0.2], { seed: 2 })[0])).not.toEqual(items(a));
    const parts = splitDataset(ds, [10, 20, 30], { shuffle: false });
    expect(parts.map((p) => p.length)).toEqual([10, 20, 30]);
    expect(items(parts[1])[0]).toBe(10);
    const [rest, held] = splitDataset(ds, 13, 5);
    expect([rest.length, held.length]).toEqual([90, 13]);
    expect(new Set([...items(rest), ...items(held)]).size).toBe(103);
    expect(() => splitDataset(ds, [0.5, 0.4])).toThrow(/parts = \[0.5, 0.4\]: fractions must sum to 1/);
    expect(() => splitDataset(ds, [100, 10])).toThrow(/counts sum to 110 but data set "num" has 103 items/);
  });

  it('randomIndices draws distinct indices by seed', () => {
    const r = randomIndices(50, 20, 3);
    expect(new Set(r).size).toBe(20);
    expect(Math.max(...r)).toBeLessThan(50);
    expect(Array.from(randomIndices(50, 20, 3))).toEqual(Array.from(r));
    expect(Array.from(randomIndices(50, 20, 4))).not.toEqual(Array.from(r));
    expect(() => randomIndices(5, 6)).toThrow(/count = 6/);
  });

  it('ArrayDataset checks its inputs', () => {
    expect(() => new ArrayDataset({ name: 'x', images: new Uint8Array(7), height: 2, width: 2, channels: 1 })).toThrow(/7 bytes, not a multiple of height\*width\*channels = 4/);
    expect(() => new ArrayDataset({ name: 'x', images: new Uint8Array(8), height: 2, width: 2, channels: 1, labels: new Uint8Array(3), classNames: ['a'] })).toThrow(/3 labels for 2 images/);
    expect(() => new ArrayDataset({ name: 'x', images: new Uint8Array(8), height: 2, width: 2, channels: 1, labels: new Uint8Array([0, 2]), classNames: ['a', 'b'] })).toThrow(/label 2 of item 1 is outside \[0, 1\]/);
    const unl = new ArrayDataset({ name: 'u', images: new Uint8Array(8), height: 2, width: 2, channels: 1 });
    expect([unl.numClasses, unl.getSync(1).label]).toEqual([0, undefined]);
    expect(Array.from(unl.getBatchSync([1]).labels)).toEqual([-1]);
  });
});
