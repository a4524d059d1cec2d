/**
 * The unary kernels against the stock ones, shared by the baseline build's test file and the
 * relaxed-SIMD one (a V8 flag is process-wide, so each build gets its own file).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNARY_OPS } from '../kernels/unary';
import { registerWasmKernels, wasmKernelsInfo } from '../register';
import { maxAbsDiff, stockAndOurs, useWasm } from './helpers';

/** Inputs covering each function's whole float range, with odd lengths for the vector tail. */
function grid(lo: number, hi: number, n: number): tf.Tensor {
  return tf.linspace(lo, hi, n);
}

export const OPS: { name: keyof typeof UNARY_OPS; f: (x: tf.Tensor) => tf.Tensor; lo: number; hi: number; rtol: number }[] = [
  { name: 'Exp', f: tf.exp, lo: -110, hi: 90, rtol: 3e-7 },
  { name: 'Erf', f: tf.erf, lo: -6, hi: 6, rtol: 1e-6 },
  { name: 'Tanh', f: tf.tanh, lo: -12, hi: 12, rtol: 1e-6 },
  { name: 'Log', f: tf.log, lo: 1e-30, hi: 1e30, rtol: 3e-7 },
  { name: 'Neg', f: tf.neg, lo: -5, hi: 5, rtol: 0 },
  { name: 'Square', f: tf.square, lo: -5, hi: 5, rtol: 0 },
  { name: 'Sqrt', f: tf.sqrt, lo: 0, hi: 1e6, rtol: 1e-7 },
  { name: 'Rsqrt', f: tf.rsqrt, lo: 1e-6, hi: 1e6, rtol: 2e-7 },
  { name: 'Abs', f: tf.abs, lo: -5, hi: 5, rtol: 0 },
  { name: 'Relu', f: tf.relu, lo: -5, hi: 5, rtol: 0 },
  { name: 'Sigmoid', f: tf.sigmoid, lo: -100, hi: 100, rtol: 1e-6 },
  { name: 'Reciprocal', f: tf.reciprocal, lo: 0.01, hi: 100, rtol: 1e-7 },
  { name: 'Elu', f: tf.elu, lo: -20, hi: 5, rtol: 1e-6 },
  { name: 'Relu6', f: tf.relu6, lo: -3, hi: 9, rtol: 0 },
];

/**
 * max |a - e| / max(|e|, 1e-30): relative, except that values below 1e-30 compare absolutely
 * (the stock XNNPACK sigmoid flushes results near the denormal range to 0).
 */
export function maxRel(a: Float32Array, e: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === e[i]) continue;
    const r = Math.abs(a[i] - e[i]) / Math.max(Math.abs(e[i]), 1e-30);
    if (!(r <= m)) m = Number.isNaN(r) ? Infinity : r;
  }
  return m;
}

/** The suite, for the build `relaxedSimd` says (checked at registration). */
export function unaryKernelSuite(relaxedSimd: boolean): void {
  describe(`unary kernels [wasm${relaxedSimd ? ', relaxed SIMD' : ''}]`, () => {
    beforeAll(useWasm);

    it('replace the stock kernels', async () => {
      await registerWasmKernels();
      expect(wasmKernelsInfo()?.relaxedSimd).toBe(relaxedSimd);
      for (const { name } of OPS) expect(tf.getKernel(name, 'wasm')?.kernelFunc.name, name).not.toBe(undefined);
    });

    for (const { name, f, lo, hi, rtol } of OPS) {
      it(`${name} matches the stock kernel to ${rtol} relative`, async () => {
        for (const n of [1, 3, 17, 1001]) {
          const x = grid(lo, hi, n);
          const { stock, ours } = await stockAndOurs(() => f(x), [name]);
          if (rtol === 0) expect(maxAbsDiff(ours[0], stock[0]).err, `${name} n=${n}`).toBe(0);
          else expect(maxRel(ours[0], stock[0]), `${name} n=${n}`).toBeLessThanOrEqual(rtol);
          x.dispose();
        }
      });
    }

    it('keep the special values (inf, NaN, 0) of the stock kernels', async () => {
      const x = tf.tensor([0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 1]);
      for (const { name, f } of OPS) {
        const { stock, ours } = await stockAndOurs(() => f(x), [name]);
        for (let i = 0; i < 8; i++) {
          const [o, s] = [ours[0][i], stock[0][i]];
          const same = Object.is(o, s) || (Number.isNaN(o) && Number.isNaN(s)) || Math.abs(o - s) <= 1e-6 * Math.abs(s) + 1e-43;
          expect(same, `${name}(${x.dataSync()[i]}): ours ${o}, stock ${s}`).toBe(true);
        }
      }
      x.dispose();
    });

    it('leave int32 inputs to the stock kernels', async () => {
      await registerWasmKernels();
      expect(Array.from(tf.neg(tf.tensor([1, -2, 3], undefined, 'int32')).dataSync())).toEqual([-1, 2, -3]);
      expect(Array.from(tf.abs(tf.tensor([1, -2, 3], undefined, 'int32')).dataSync())).toEqual([1, 2, 3]);
    });
  });
}
