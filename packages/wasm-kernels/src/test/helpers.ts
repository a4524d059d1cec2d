/**
 * Test helpers: run the same computation with the stock tfjs-wasm kernels and with this
 * package's kernels, and compare.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
// Gradients are registered by this side-effect module (not by the tfjs-core Node bundle).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerWasmKernels, unregisterWasmKernels, type WasmKernelName } from '../register';

export async function useWasm(): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  await tf.ready();
}

/** Values of `f()` computed with the stock kernels, then with ours (`kernels` replaced). */
export async function stockAndOurs(
  f: () => tf.Tensor | tf.Tensor[],
  kernels?: readonly WasmKernelName[],
): Promise<{ stock: Float32Array[]; ours: Float32Array[] }> {
  const run = (): Float32Array[] => {
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const vals = list.map((t) => Float32Array.from(t.dataSync() as ArrayLike<number>));
    tf.dispose(list);
    return vals;
  };
  unregisterWasmKernels();
  const stock = run();
  await registerWasmKernels(kernels ? { kernels } : {});
  const ours = run();
  return { stock, ours };
}

/** Max |a - e| and max |e|. */
export function maxAbsDiff(a: ArrayLike<number>, e: ArrayLike<number>): { err: number; mag: number } {
  if (a.length !== e.length) throw new Error(`length ${a.length} vs ${e.length}`);
  let err = 0, mag = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : d;
    mag = Math.max(mag, Math.abs(e[i]));
  }
  return { err, mag };
}

/** Deterministic standard-normal tensor. */
export function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}
