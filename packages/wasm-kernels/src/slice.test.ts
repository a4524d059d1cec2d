import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { planSlice } from './kernels/slice';
import { registerWasmKernels } from './register';
import { maxAbsDiff, randn, stockAndOurs, useWasm } from './test/helpers';

describe('planSlice', () => {
  it('merges dims taken whole and dims after a single index', () => {
    expect(planSlice([64, 50, 576], [0, 0, 192], [64, 50, 192])).toEqual({ shape: [3200, 576], begin: [0, 192], size: [3200, 192] });
    expect(planSlice([5, 6, 7], [2, 0, 0], [3, 6, 7])).toEqual({ shape: [210], begin: [84], size: [126] });
    expect(planSlice([5, 6, 7], [2, 3, 1], [1, 2, 4])).toEqual({ shape: [30, 7], begin: [15, 1], size: [2, 4] });
  });
});

describe('Slice, SplitV, Unpack, Concat, Pack [wasm]', () => {
  beforeAll(useWasm);

  it('Slice matches the stock kernel on 1-5-D odd windows', async () => {
    const cases: [number[], number[], number[]][] = [
      [[17], [3], [11]], [[5, 63], [1, 2], [3, 60]], [[5, 63], [0, 0], [5, 1]], [[4, 3, 65], [1, 0, 0], [2, 3, 65]],
      [[4, 3, 65], [0, 1, 5], [4, 1, 7]], [[64, 50, 192], [0, 0, 0], [64, 1, 192]], [[2, 3, 4, 5], [1, 1, 1, 1], [1, 2, 3, 4]],
      [[3, 4, 3, 5, 6], [1, 0, 2, 1, 0], [2, 4, 1, 3, 6]], [[3, 4], [0, 0], [3, 4]], [[3, 4], [1, 2], [0, 2]],
    ];
    let seed = 1;
    for (const [shape, begin, size] of cases) {
      const x = randn(shape, seed++);
      const { stock, ours } = await stockAndOurs(() => tf.slice(x, begin, size), ['Slice']);
      expect(maxAbsDiff(ours[0], stock[0]).err, `${shape} ${begin} ${size}`).toBe(0);
      x.dispose();
    }
  });

  it('Slice copies int32 exactly and keeps shapes', async () => {
    const x = tf.reshape(tf.range(0, 60, 1, 'int32'), [3, 4, 5]);
    const { stock, ours } = await stockAndOurs(() => tf.slice(x, [1, 1, 1], [2, -1, 3]), ['Slice']);
    expect(Array.from(ours[0])).toEqual(Array.from(stock[0]));
    await registerWasmKernels();
    const y = tf.slice(x, [1, 1, 1], [2, -1, 3]);
    expect(y.shape).toEqual([2, 3, 3]);
    expect(y.dtype).toBe('int32');
  });

  it('SplitV and Unpack match the stock kernels on every axis', async () => {
    const x = randn([6, 3, 9], 5);
    for (const axis of [0, 1, 2, -1]) {
      const { stock, ours } = await stockAndOurs(() => tf.split(x, 3, axis), ['SplitV']);
      expect(ours.length).toBe(3);
      for (let i = 0; i < 3; i++) expect(maxAbsDiff(ours[i], stock[i]).err).toBe(0);
      const sizes = await stockAndOurs(() => tf.split(x, [1, 2, -1], axis), ['SplitV']);
      for (let i = 0; i < 3; i++) expect(maxAbsDiff(sizes.ours[i], sizes.stock[i]).err).toBe(0);
      const u = await stockAndOurs(() => tf.unstack(x, axis), ['Unpack']);
      expect(u.ours.length).toBe(x.shape[axis < 0 ? 2 : axis]);
      for (let i = 0; i < u.ours.length; i++) expect(maxAbsDiff(u.ours[i], u.stock[i]).err).toBe(0);
    }
    await registerWasmKernels();
    expect(tf.unstack(x, 1)[0].shape).toEqual([6, 9]);
    expect(tf.split(x, [2, 7], 2)[1].shape).toEqual([6, 3, 7]);
  });

  it('Concat and Pack match the stock kernels on every axis, odd sizes, int32 too', async () => {
    const xs = [randn([3, 5, 7], 1), randn([3, 5, 7], 2), randn([3, 5, 7], 3)];
    for (const axis of [0, 1, 2, -1]) {
      const c = await stockAndOurs(() => tf.concat(xs, axis), ['Concat']);
      expect(maxAbsDiff(c.ours[0], c.stock[0]).err, `concat axis ${axis}`).toBe(0);
      const p = await stockAndOurs(() => tf.stack(xs, axis), ['Pack']);
      expect(maxAbsDiff(p.ours[0], p.stock[0]).err, `stack axis ${axis}`).toBe(0);
    }
    const mixed = [randn([2, 1, 4], 4), randn([2, 3, 4], 5), randn([2, 0, 4], 6), randn([2, 17, 4], 7)];
    const m = await stockAndOurs(() => tf.concat(mixed, 1), ['Concat']);
    expect(maxAbsDiff(m.ours[0], m.stock[0]).err).toBe(0);
    const ints = [tf.tensor([[1, 2]], undefined, 'int32'), tf.tensor([[3], [4]].flat(), [1, 2], 'int32')];
    await registerWasmKernels();
    const ci = tf.concat(ints, 0);
    expect(ci.dtype).toBe('int32');
    expect(Array.from(ci.dataSync())).toEqual([1, 2, 3, 4]);
    expect(tf.concat(mixed, 1).shape).toEqual([2, 21, 4]);
    expect(tf.stack(xs, 1).shape).toEqual([3, 3, 5, 7]);
  });
});
