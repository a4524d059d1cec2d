/**
 * Kernels on several threads: the backend's memory made shared, workers started, and every
 * split kernel giving the same bits as one thread (odd sizes, broadcasts, each split path).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerWasmKernels, unregisterWasmKernels, wasmKernelsInfo } from './register';
import { prepareWasmThreads, isSharedMemory, withSharedMemory, memoryFlagOffsets } from './shared-memory';
import { backendMemory, type WasmBackendLike } from './wasm-backend';
import { splitRange } from './split';
import { randn } from './test/helpers';

beforeAll(async () => {
  expect(prepareWasmThreads()).toBe(true);
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(() => unregisterWasmKernels());

async function valuesAt(threads: number, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await registerWasmKernels({ threads });
  expect(wasmKernelsInfo()?.threads).toBe(threads);
  const out = tf.tidy(f);
  const vals = out.map((t) => Float32Array.from(t.dataSync() as ArrayLike<number>));
  tf.dispose(out);
  return vals;
}

/** Same bits at 1, 2 and 3 threads. */
async function expectThreadInvariant(f: () => tf.Tensor[]): Promise<void> {
  const one = await valuesAt(1, f);
  for (const threads of [2, 3]) {
    const many = await valuesAt(threads, f);
    expect(many.length).toBe(one.length);
    for (let i = 0; i < one.length; i++) {
      expect(many[i].length).toBe(one[i].length);
      expect(Buffer.from(many[i].buffer).equals(Buffer.from(one[i].buffer))).toBe(true);
    }
  }
}

describe('shared memory', () => {
  it("runs tfjs-backend-wasm's SIMD build on a shared memory after prepareWasmThreads()", () => {
    const memory = backendMemory(tf.backend() as unknown as WasmBackendLike);
    expect(isSharedMemory(memory)).toBe(true);
    // The memory still grows (tensors larger than the initial heap).
    const big = tf.zeros([2048, 2048]);
    expect(tf.sum(big).dataSync()[0]).toBe(0);
    big.dispose();
  });

  it('flips only the shared bit of memory limits that declare a maximum', () => {
    // (module (memory 1 2)) and (module (memory 1)) by hand.
    const withMax = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 1, 1, 2]);
    const noMax = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1]);
    expect(memoryFlagOffsets(withMax)).toEqual([11]);
    const shared = withSharedMemory(withMax)!;
    expect(shared[11]).toBe(3);
    expect(withMax[11]).toBe(1);
    expect(WebAssembly.validate(shared as BufferSource)).toBe(true);
    expect(withSharedMemory(noMax)).toBeNull();
    expect(() => memoryFlagOffsets(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/not a WebAssembly binary/);
  });

  it('rejects thread counts it cannot run', async () => {
    await expect(registerWasmKernels({ threads: 0 })).rejects.toThrow(/threads is 0/);
    await expect(registerWasmKernels({ threads: 1.5 })).rejects.toThrow(/integer from 1/);
  });
});

describe('splitRange', () => {
  it('covers the range once, in aligned parts', () => {
    for (const [total, parts, align] of [[10, 3, 1], [1000, 2, 4], [7, 4, 4], [33, 8, 8], [1, 2, 1], [64, 2, 16]]) {
      const r = splitRange(total, parts, align);
      expect(r.length).toBeLessThanOrEqual(parts);
      let next = 0;
      for (const [s, len] of r) {
        expect(s).toBe(next);
        expect(len).toBeGreaterThan(0);
        if (s + len < total) expect(len % align).toBe(0);
        next = s + len;
      }
      expect(next).toBe(total);
    }
  });
});

describe('kernels on threads give the bits of one thread', () => {
  it('matrix products: batch, row and column splits, transposes, broadcasts, bias + activation', async () => {
    await expectThreadInvariant(() => [
      tf.matMul(randn([3, 130, 97], 1), randn([3, 97, 75], 2)), // batch 3 over 2/3 threads
      tf.matMul(randn([301, 67], 3), randn([67, 129], 4)), // rows
      tf.matMul(randn([67, 45], 5), randn([123, 45], 6), false, true), // wide: columns
      tf.transpose(tf.matMul(randn([1000, 13], 7), randn([1000, 301], 8), true, false)),
      tf.matMul(randn([2, 1, 77, 40], 9), randn([1, 3, 40, 66], 10)), // broadcast batches
      tf.fused.matMul({ a: randn([257, 64], 11), b: randn([64, 96], 12), bias: randn([96], 13), activation: 'relu' }),
      tf.fused.matMul({ a: randn([4, 65, 64], 14), b: randn([64, 48], 15), bias: randn([65, 48], 16), activation: 'elu' }),
      tf.fused.matMul({ a: randn([130, 512], 17), b: randn([512, 40], 18), bias: randn([130, 40], 19) }),
      // a [N] bias in the GEMM's last store, with column splits and two K blocks
      tf.fused.matMul({ a: randn([20, 400], 33), b: randn([400, 203], 34), bias: randn([203], 35) }),
    ]);
  });

  it('element-wise and reductions: odd sizes, broadcasts, kept and reduced outer axes', async () => {
    await expectThreadInvariant(() => {
      const x = randn([37, 211, 9], 20);
      const row = randn([211, 9], 21);
      return [
        tf.exp(x), tf.tanh(x), tf.erf(x), tf.sigmoid(randn([70001], 22)),
        tf.add(x, row), tf.mul(x, randn([37, 1, 9], 23)), tf.div(x, 3), tf.squaredDifference(x, randn([9], 24)),
        tf.pow(x, 2), tf.sub(randn([1, 40000], 25), randn([3, 1], 26)),
        tf.sum(x, 2), tf.mean(x, [1, 2]), tf.max(x, 0), tf.min(randn([50000, 3], 27), 1),
        // transposes: the first output dim from the middle, the innermost and the outermost input dim
        tf.transpose(tf.reshape(randn([5, 67, 3, 3, 64], 28), [5, 67, 3, 3, 64]), [2, 0, 3, 1, 4]),
        tf.transpose(randn([301, 177], 29)), tf.transpose(x, [0, 2, 1]), tf.transpose(x, [2, 1, 0]),
        // copies: slices, splits and concatenations along inner and outer axes
        ...tf.split(randn([70, 65, 576], 30), 3, 2), tf.slice(x, [3, 10, 2], [33, 190, 5]),
        tf.concat([x, tf.mul(x, 2)], 1), tf.concat([randn([40000, 1], 31), randn([40000, 2], 32)], 1),
      ];
    });
  });

  it('a ViT-like block and its gradients', async () => {
    await expectThreadInvariant(() => {
      const x = randn([4, 65, 96], 30);
      const w1 = tf.mul(randn([96, 384], 31), 0.05), w2 = tf.mul(randn([384, 96], 32), 0.05);
      const f = (xx: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Scalar => {
        const h = tf.matMul(tf.reshape(xx, [-1, 96]), a);
        const g = tf.mul(tf.mul(h, 0.5), tf.add(tf.erf(tf.div(h, Math.SQRT2)), 1));
        const att = tf.softmax(tf.div(tf.matMul(xx, xx, false, true), Math.sqrt(96)));
        return tf.sum(tf.square(tf.add(tf.reshape(tf.matMul(g, b), [4, 65, 96]), tf.matMul(att, xx))));
      };
      const grads = tf.grads(f)([x, w1, w2]);
      return [f(x, w1, w2), ...grads];
    });
  });
});

describe('a full wasm heap', () => {
  it('is a clear error, not a write at address 0', async () => {
    const { makeOutput } = await import('./wasm-backend');
    const disposed: object[] = [];
    const full = {
      wasm: { _malloc: () => 0, _free: () => undefined, HEAPU8: new Uint8Array(8) },
      dataIdMap: { get: () => ({ id: 1, memoryOffset: 0, shape: [1000, 1000], dtype: 'float32' as const, refCount: 1 }) },
      makeOutput: (shape: number[], dtype: tf.DataType) => ({ dataId: {}, shape, dtype }),
      disposeData: (id: object) => disposed.push(id),
    };
    expect(() => makeOutput(full, [1000, 1000], 'float32')).toThrow(/out of WebAssembly memory allocating a float32 tensor of shape \[1000,1000\] \(3\.8 MiB\).*--micro-batch/);
    expect(disposed.length).toBe(1);
    // An empty tensor needs no memory.
    expect(makeOutput(full, [0, 5], 'float32').shape).toEqual([0, 5]);
  });
});
