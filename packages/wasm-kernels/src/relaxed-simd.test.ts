// The relaxed-SIMD (fused multiply-add) GEMM. Node 20 validates relaxed SIMD only with a V8
// flag, which tryEnableRelaxedSimd sets (vitest runs each test file in its own process).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmKernels, wasmKernelsInfo } from './register';
import { relaxedSimdSupported, tryEnableRelaxedSimd } from './kernel-module';
import { maxAbsDiff, randn, stockAndOurs, useWasm } from './test/helpers';

describe('relaxed-SIMD GEMM [wasm]', () => {
  beforeAll(useWasm);

  it('tryEnableRelaxedSimd switches relaxed SIMD on (Node >= 20.16)', () => {
    expect(tryEnableRelaxedSimd()).toBe(true);
    expect(tryEnableRelaxedSimd()).toBe(true); // idempotent
  });

  it('is used when the engine supports relaxed SIMD, and not when switched off', async () => {
    expect(await relaxedSimdSupported()).toBe(true);
    await registerWasmKernels();
    expect(wasmKernelsInfo()?.relaxedSimd).toBe(true);
    await registerWasmKernels({ relaxedSimd: false });
    expect(wasmKernelsInfo()?.relaxedSimd).toBe(false);
    await registerWasmKernels();
    expect(wasmKernelsInfo()?.relaxedSimd).toBe(true);
  });

  it('matches the stock kernel for every transpose combination, odd sizes and batches', async () => {
    let seed = 1;
    for (const [m, k, n, batch] of [[17, 63, 65, 1], [129, 3, 1, 1], [1, 257, 9, 1], [65, 129, 17, 3], [241, 300, 1030, 1]]) {
      for (const ta of [false, true]) for (const tb of [false, true]) {
        const a = randn([batch, ...(ta ? [k, m] : [m, k])], seed++);
        const b = randn([batch, ...(tb ? [n, k] : [k, n])], seed++);
        const { stock, ours } = await stockAndOurs(() => tf.matMul(a, b, ta, tb));
        expect(maxAbsDiff(ours[0], stock[0]).err, `M${m} K${k} N${n} ta=${ta} tb=${tb}`).toBeLessThanOrEqual(1e-4 * Math.sqrt(k));
        tf.dispose([a, b]);
      }
    }
    expect(wasmKernelsInfo()?.relaxedSimd).toBe(true);
  });

  it('fused bias + activation matches matMul + bias + activation on the stock kernels', async () => {
    const a = randn([33, 70], 1), b = randn([70, 19], 2), bias = randn([19], 3);
    const { stock } = await stockAndOurs(() => tf.relu(tf.add(tf.matMul(a, b), bias)));
    await registerWasmKernels();
    const ours = tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' });
    expect(maxAbsDiff(ours.dataSync(), stock[0]).err).toBeLessThanOrEqual(1e-4 * Math.sqrt(70));
  });
});
