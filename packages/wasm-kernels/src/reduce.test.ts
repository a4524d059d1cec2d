import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { planReduce } from './kernels/reduce';
import { registerWasmKernels } from './register';
import { maxAbsDiff, randn, stockAndOurs, useWasm } from './test/helpers';

const OPS: [string, (x: tf.Tensor, axis: number | number[], keepDims: boolean) => tf.Tensor][] = [
  ['Sum', tf.sum], ['Mean', tf.mean], ['Max', tf.max], ['Min', tf.min],
];

const CASES: [number[], number | number[]][] = [
  [[17], 0], [[5, 63], 1], [[5, 63], 0], [[5, 63], [0, 1]], [[4, 3, 65], [0, 1]], [[4, 3, 65], 2],
  [[4, 3, 65], [0, 2]], [[4, 3, 65], 1], [[2, 3, 4, 5], [1, 3]], [[2, 3, 4, 5], [0, 2]], [[3, 1, 129], [1]],
  [[3, 1, 129], [0, 1]], [[1, 1, 7], 2], [[64, 50, 192], [0, 1]], [[6, 33], -1],
];

describe('planReduce', () => {
  it('merges adjacent reduced and kept dims', () => {
    expect(planReduce([64, 50, 192], [0, 1])).toEqual({ shape: [3200, 192], reduced: [1, 0] });
    expect(planReduce([2, 3, 4, 5], [1, 3])).toEqual({ shape: [2, 3, 4, 5], reduced: [0, 1, 0, 1] });
    expect(planReduce([3, 1, 7], [1])).toEqual({ shape: [21], reduced: [0] });
  });
});

describe('reduction kernels [wasm]', () => {
  beforeAll(useWasm);

  for (const [name, f] of OPS) {
    it(`${name} matches the stock kernel over every axis pattern, with and without keepDims`, async () => {
      let seed = 3;
      for (const [shape, axis] of CASES) {
        const x = randn(shape, seed++);
        for (const keepDims of [false, true]) {
          const { stock, ours } = await stockAndOurs(() => f(x, axis, keepDims), [name]);
          const count = tf.util.sizeFromShape(shape) / stock[0].length;
          const { err } = maxAbsDiff(ours[0], stock[0]);
          // Float sums in another order: error grows like sqrt(count) * eps * |terms|.
          expect(err, `${name} ${shape} axis ${axis}`).toBeLessThanOrEqual(1e-6 * Math.sqrt(count) * 4);
        }
        x.dispose();
      }
    });
  }

  it('gives the keepDims shapes', async () => {
    await registerWasmKernels();
    const x = randn([4, 3, 5], 1);
    expect(tf.sum(x, [0, 2], true).shape).toEqual([1, 3, 1]);
    expect(tf.mean(x, -1).shape).toEqual([4, 3]);
    expect(tf.max(x).shape).toEqual([]);
  });

  it('keeps int32 on the stock kernels; an empty sum is 0 and an empty mean NaN', async () => {
    await registerWasmKernels();
    const s = tf.sum(tf.tensor([[1, 2], [3, 4]], undefined, 'int32'), 0);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([4, 6]);
    expect(Array.from(tf.sum(tf.zeros([0, 3]), 0).dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(tf.mean(tf.zeros([0, 2]), 0).dataSync())).toEqual([NaN, NaN]);
  });
});
