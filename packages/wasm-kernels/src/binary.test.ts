import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { planBinary } from './kernels/binary';
import { registerWasmKernels } from './register';
import { maxAbsDiff, randn, stockAndOurs, useWasm } from './test/helpers';

const OPS: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['Add', tf.add], ['Sub', tf.sub], ['Multiply', tf.mul], ['RealDiv', tf.div],
  ['Maximum', tf.maximum], ['Minimum', tf.minimum], ['SquaredDifference', tf.squaredDifference],
];

/** max |a - e| / max(|e|, 1e-30) over elements where both are finite; mismatched NaN/inf count as Infinity. */
function maxRel(a: Float32Array, e: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i]))) continue;
    const r = Math.abs(a[i] - e[i]) / Math.max(Math.abs(e[i]), 1e-30);
    if (!(r <= m)) m = Number.isNaN(r) ? Infinity : r;
  }
  return m;
}

/** Shape pairs: equal, scalar, row/column/batch broadcasts, both sides broadcasting, odd sizes. */
const SHAPES: [number[], number[]][] = [
  [[17], [17]], [[3, 65], [3, 65]], [[], [5, 7]], [[5, 7], []], [[4, 5, 63], [63]], [[63], [4, 5, 63]],
  [[4, 5, 3], [4, 5, 1]], [[4, 1, 3], [4, 5, 3]], [[6, 1], [1, 7]], [[2, 1, 3, 1], [1, 5, 1, 9]],
  [[3, 1, 1], [3, 4, 5]], [[1], [1]], [[129, 1], [129, 3]], [[2, 3, 4, 5, 6], [3, 1, 5, 1]],
];

describe('planBinary', () => {
  it('merges a bias add into rows of one vector', () => {
    expect(planBinary([64, 50, 192], [192])).toEqual({ outShape: [64, 50, 192], shape: [3200, 192], astride: [192, 1], bstride: [0, 1] });
    expect(planBinary([4, 5], [4, 5])).toEqual({ outShape: [4, 5], shape: [20], astride: [1], bstride: [1] });
    expect(planBinary([64, 50, 1], [64, 50, 192]).shape).toEqual([3200, 192]);
  });
});

describe('binary kernels [wasm]', () => {
  beforeAll(useWasm);

  for (const [name, f] of OPS) {
    it(`${name} matches the stock kernel for every broadcast pattern`, async () => {
      let seed = 1;
      for (const [sa, sb] of SHAPES) {
        const a = randn(sa, seed++);
        // Divisors kept away from 0 so the comparison is about the kernel, not conditioning.
        const b = name === 'RealDiv' ? tf.add(tf.abs(randn(sb, seed++)), 0.5) : randn(sb, seed++);
        const { stock, ours } = await stockAndOurs(() => f(a, b), [name]);
        const { err, mag } = maxAbsDiff(ours[0], stock[0]);
        expect(err, `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`).toBeLessThanOrEqual(1e-7 * Math.max(1, mag));
        tf.dispose([a, b]);
      }
    });
  }

  it('Pow matches the stock kernel: constant exponents (exact forms and general) and broadcast exponents', async () => {
    const x = tf.concat([tf.linspace(-3, 3, 61), tf.tensor([0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-30, 1e30])]);
    for (const e of [2, 1, 3, -1, 0, 0.5, -0.5, 2.5, -2, 4, 1.5]) {
      const ex = tf.scalar(e);
      const { stock, ours } = await stockAndOurs(() => tf.pow(x, ex), ['Pow']);
      const exact = [1, 2, 3, -1, 0].includes(e);
      expect(maxRel(ours[0], stock[0]), `x^${e}`).toBeLessThanOrEqual(exact ? 2e-7 : 4e-6);
      ex.dispose();
    }
    const base = tf.add(tf.abs(randn([5, 7], 1)), 0.1);
    const expo = randn([7], 2);
    const { stock, ours } = await stockAndOurs(() => tf.pow(base, expo), ['Pow']);
    expect(maxRel(ours[0], stock[0])).toBeLessThanOrEqual(4e-6);
    tf.dispose([x, base, expo]);
  });

  it('keep the stock kernels for int32', async () => {
    await registerWasmKernels();
    const y = tf.add(tf.tensor([1, 2, 3], undefined, 'int32'), tf.tensor([10], undefined, 'int32'));
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([11, 12, 13]);
  });

  it('propagate NaN through maximum and minimum from either side', async () => {
    await registerWasmKernels();
    const a = tf.tensor([NaN, 1, 2, NaN, 5]), b = tf.tensor([1, NaN, 3, 4, NaN]);
    expect(Array.from(tf.maximum(a, b).dataSync()).map((v) => Number.isNaN(v))).toEqual([true, true, false, true, true]);
    expect(Array.from(tf.minimum(a, b).dataSync()).map((v) => Number.isNaN(v))).toEqual([true, true, false, true, true]);
  });
});
