import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchMatMul } from './kernels/batch-mat-mul';
import { registerWasmKernels } from './register';
import { maxAbsDiff, randn, stockAndOurs, useWasm } from './test/helpers';

const SIZES = [1, 3, 17, 63, 65, 129];
const TRANSPOSES: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

function operands(m: number, k: number, n: number, ta: boolean, tb: boolean, seed: number, batchA: number[] = [], batchB: number[] = []) {
  const a = randn([...batchA, ...(ta ? [k, m] : [m, k])], seed);
  const b = randn([...batchB, ...(tb ? [n, k] : [k, n])], seed + 1);
  return { a, b };
}

/** GEMM error bound for standard-normal inputs: float32 rounding grows like sqrt(K). */
const tol = (k: number) => 1e-4 * Math.sqrt(Math.max(k, 1));

describe('BatchMatMul [wasm]', () => {
  beforeAll(useWasm);

  it('is the registered wasm kernel after registerWasmKernels', async () => {
    await registerWasmKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).toBe(batchMatMul);
  });

  it('matches the stock kernel on odd sizes, every transpose combination', async () => {
    let seed = 1;
    let cases = 0;
    for (const m of SIZES) for (const k of SIZES) for (const n of SIZES) {
      // A deterministic third of the 216 size triples keeps the test fast; every size appears
      // in every position.
      if ((m * 7 + k * 3 + n) % 3 !== 0) continue;
      for (const [ta, tb] of TRANSPOSES) {
        const { a, b } = operands(m, k, n, ta, tb, seed++);
        const { stock, ours } = await stockAndOurs(() => tf.matMul(a, b, ta, tb));
        const { err } = maxAbsDiff(ours[0], stock[0]);
        expect(err, `M${m} K${k} N${n} ta=${ta} tb=${tb}`).toBeLessThanOrEqual(tol(k));
        tf.dispose([a, b]);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(250);
  });

  it('matches across the cache-block boundaries (K > 384, M > 120, N > 1024)', async () => {
    for (const [m, k, n] of [[241, 385, 19], [7, 769, 1030], [125, 400, 1025]]) {
      for (const [ta, tb] of TRANSPOSES) {
        const { a, b } = operands(m, k, n, ta, tb, m + k + n);
        const { stock, ours } = await stockAndOurs(() => tf.matMul(a, b, ta, tb));
        const { err } = maxAbsDiff(ours[0], stock[0]);
        expect(err, `M${m} K${k} N${n} ta=${ta} tb=${tb}`).toBeLessThanOrEqual(tol(k));
        tf.dispose([a, b]);
      }
    }
  });

  it('matches batched products, with one operand broadcast, in every transpose combination', async () => {
    const shapes: [number[], number[]][] = [[[6], [6]], [[2, 3], [2, 3]], [[1], [5]], [[5], [1]], [[4], []], [[], [4]]];
    for (const [ba, bb] of shapes) {
      for (const [ta, tb] of TRANSPOSES) {
        const { a, b } = operands(17, 63, 9, ta, tb, 7, ba, bb);
        const { stock, ours } = await stockAndOurs(() => tf.matMul(a, b, ta, tb));
        const { err } = maxAbsDiff(ours[0], stock[0]);
        expect(err, `batch ${ba} x ${bb} ta=${ta} tb=${tb}`).toBeLessThanOrEqual(tol(63));
        tf.dispose([a, b]);
      }
    }
  });

  it('broadcasts batch dims in general ([2,1] with [1,3]) like explicitly tiled operands', async () => {
    const a = randn([2, 1, 5, 7], 3);
    const b = randn([1, 3, 7, 4], 4);
    const { stock } = await stockAndOurs(() => tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1])));
    await registerWasmKernels();
    const ours = tf.matMul(a, b);
    expect(ours.shape).toEqual([2, 3, 5, 4]);
    expect(maxAbsDiff(ours.dataSync(), stock[0]).err).toBeLessThanOrEqual(tol(7));
  });

  it('gives zeros for K = 0 and empty outputs for M = 0', async () => {
    await registerWasmKernels();
    const z = tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4]));
    expect(Array.from(z.dataSync())).toEqual(new Array(12).fill(0));
    expect(tf.matMul(tf.zeros([0, 5]), tf.ones([5, 4])).shape).toEqual([0, 4]);
  });

  it('throws on mismatched inner dimensions', async () => {
    await registerWasmKernels();
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))).toThrow(/inner shapes/);
  });

  it('does not leak tensors', async () => {
    await registerWasmKernels();
    const a = randn([4, 33, 20], 1), b = randn([4, 33, 21], 2);
    tf.matMul(a, b, true).dispose();
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 3; i++) tf.matMul(a, b, true, false).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([a, b]);
  });
});
