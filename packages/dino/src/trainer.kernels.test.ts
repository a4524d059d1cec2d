/**
 * The reference 3-step parity with @dino-ts/wasm-kernels registered (its SIMD kernels, the fused
 * LayerNorm, GELU, AdamW and EMA) on one thread and on two: both match the reference, and the
 * two runs end with the same bits, so a run resumes exactly whatever thread count it uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUSED_KERNELS, hasFusedKernel } from '@dino-ts/core';
import { prepareWasmThreads, registerWasmKernels, unregisterWasmKernels, wasmKernelsInfo } from '@dino-ts/wasm-kernels';
import { threeReferenceSteps } from './test/reference-steps';

beforeAll(async () => {
  // The backend's memory must be made shared before it starts (this file runs in its own process).
  prepareWasmThreads();
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(() => unregisterWasmKernels());

describe('DinoTrainer vs the reference training loop with the wasm kernels', () => {
  const finals = new Map<number, Float32Array[]>();
  for (const threads of [1, 2]) {
    it(`3 training steps on ${threads} thread${threads > 1 ? 's' : ''}`, async () => {
      // Every kernel call split, however small (this model is tiny).
      await registerWasmKernels({ threads, parallelThresholds: { elements: 1, macs: 1 } });
      expect(wasmKernelsInfo()?.threads).toBe(threads);
      for (const name of Object.values(FUSED_KERNELS)) expect(hasFusedKernel(name), name).toBe(true);
      const trainer = await threeReferenceSteps();
      finals.set(threads, [...trainer.student.params().values(), ...trainer.teacher.params().values()].map((v) => v.dataSync() as Float32Array));
      trainer.dispose();
    });
  }
  it('ends with the same bits on one and two threads', () => {
    const [one, two] = [finals.get(1), finals.get(2)];
    expect(one && two).toBeTruthy();
    one!.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(two![i].buffer)), `parameter ${i}`).toBe(true));
  });
});
