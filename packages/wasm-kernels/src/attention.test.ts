/**
 * Softmax and DinoAttention (csrc/attention.c): the softmax against float64 on random rows (odd
 * lengths, wide spreads, -Infinity and NaN entries), the fused attention against the composed
 * ops a ViT block runs (same bits: q, k and v read in place, both products on the same GEMM), on
 * both builds (baseline and relaxed SIMD) and 1-3 threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerWasmKernels, unregisterWasmKernels } from './register';
import { prepareWasmThreads } from './shared-memory';
import { tryEnableRelaxedSimd } from './kernel-module';
import { FUSED_KERNEL_NAMES } from './kernels/fused';
import { randn } from './test/helpers';

beforeAll(async () => {
  prepareWasmThreads();
  expect(tryEnableRelaxedSimd()).toBe(true);
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(() => unregisterWasmKernels());

const bitsEqual = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
const data = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);

/**
 * Softmax of each row of n in float64, from the float32 inputs and their float32 differences
 * from the row's max (the rounding every float32 softmax starts from: |x - max| 2^-24 of
 * relative error in each exp, 2e-6 at a difference of 30).
 */
function softmax64(x: Float32Array, n: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x[r * n + j]);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += y[r * n + j] = Math.exp(Math.fround(x[r * n + j] - max));
    for (let j = 0; j < n; j++) y[r * n + j] /= sum;
  }
  return y;
}

interface AttnCase {
  b: number; nq: number; n: number; heads: number; hd: number;
  /** Separate q [B, Q, dim] and kv [B, N, 2 dim] (a CLS-only block) instead of one qkv. */
  split: boolean;
}

/** The composed attention of @dino-ts/backbones' Attention (its `run`), from the same tensors. */
function composedAttention(q: tf.Tensor3D, kv: tf.Tensor3D, c: AttnCase, kColumn: number): tf.Tensor {
  const dim = c.heads * c.hd;
  const heads = (t: tf.Tensor3D, col: number) =>
    tf.reshape(tf.slice(t, [0, 0, col], [-1, -1, dim]), [c.b, t.shape[1], c.heads, c.hd]);
  const qh = tf.transpose(heads(q, 0), [0, 2, 1, 3]);
  const kt = tf.transpose(heads(kv, kColumn), [0, 2, 3, 1]);
  const vh = tf.transpose(heads(kv, kColumn + dim), [0, 2, 1, 3]);
  const scale = c.hd ** -0.5;
  const attn = Number.isInteger(Math.log2(scale))
    ? tf.softmax(tf.matMul(tf.mul(qh, scale), kt))
    : tf.softmax(tf.mul(tf.matMul(qh, kt), scale));
  return tf.reshape(tf.transpose(tf.matMul(attn, vh), [0, 2, 1, 3]), [c.b, c.nq, dim]);
}

const CASES: AttnCase[] = [
  { b: 2, nq: 197, n: 197, heads: 6, hd: 64, split: false }, // ViT-S/16
  { b: 3, nq: 1, n: 50, heads: 3, hd: 64, split: true }, // the CLS query of a last block
  { b: 1, nq: 7, n: 7, heads: 1, hd: 5, split: false }, // a scale that is not a power of two
  { b: 2, nq: 13, n: 13, heads: 4, hd: 4, split: false },
  { b: 4, nq: 3, n: 11, heads: 2, hd: 3, split: true },
  { b: 2, nq: 1, n: 1, heads: 2, hd: 8, split: false },
];

for (const relaxed of [false, true]) {
  const build = relaxed ? 'relaxed SIMD' : 'baseline';
  describe(`softmax and attention [wasm, ${build}]`, () => {
    for (const threads of [1, 2, 3]) {
      it(`softmax is within 4 ulp-scale of float64 and the same bits on any split (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
        await registerWasmKernels({ threads, relaxedSimd: relaxed });
        for (const [shape, spread, seed] of [[[1], 1, 1], [[3], 4, 2], [[5, 7], 1, 3], [[2, 3, 197], 8, 4], [[4, 33, 1000], 20, 5], [[70, 1], 1, 6]] as const) {
          const x = tf.tidy(() => tf.mul(randn([...shape], seed), spread));
          const n = shape[shape.length - 1];
          const got = data(tf.tidy(() => tf.softmax(x)));
          const expected = softmax64(data(x), n);
          let worst = 0;
          for (let i = 0; i < got.length; i++) {
            if (expected[i] > 1e-36) worst = Math.max(worst, Math.abs(got[i] - expected[i]) / expected[i]);
          }
          // exp to 1-2 ulp, the sum, the reciprocal and the product: a few float32 ulp (6e-8)
          // of relative error; values near 2^-126 and under lose more to denormals, or are
          // flushed to 0, and are not counted.
          expect(worst, `[${shape}] x ${spread}`).toBeLessThan(5e-7);
          if (threads > 1) {
            await registerWasmKernels({ threads: 1, relaxedSimd: relaxed });
            expect(bitsEqual(data(tf.tidy(() => tf.softmax(x))), got), `[${shape}] one thread`).toBe(true);
            await registerWasmKernels({ threads, relaxedSimd: relaxed });
          }
          x.dispose();
        }
      });
    }

    it('softmax: -Infinity entries weigh 0, a row of -Infinity or with a NaN is NaN', async () => {
      await registerWasmKernels({ threads: 2, relaxedSimd: relaxed });
      const inf = -Infinity;
      const rows = [[0, inf, 1, inf, 2], [inf, inf, inf, inf, inf], [1, 2, NaN, 3, 4], [-100, 0, -200, -88, -87]];
      const got = data(tf.tidy(() => tf.softmax(tf.tensor2d(rows))));
      const expected = softmax64(Float32Array.from(rows.flat()), 5);
      for (let i = 0; i < got.length; i++) {
        if (Number.isNaN(expected[i])) expect(got[i], `entry ${i}`).toBeNaN();
        else expect(Math.abs(got[i] - expected[i]), `entry ${i}`).toBeLessThanOrEqual(5e-7 * expected[i] + 1e-37);
      }
    });

    it('softmax keeps its gradient (tfjs computes it from the output)', async () => {
      await registerWasmKernels({ threads: 1, relaxedSimd: relaxed });
      tf.tidy(() => {
        const x = randn([3, 9], 11), dy = randn([3, 9], 12);
        const dx = data(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), dy)))(x));
        const y = softmax64(data(x), 9), g = data(dy);
        for (let r = 0; r < 3; r++) {
          let dot = 0;
          for (let j = 0; j < 9; j++) dot += g[r * 9 + j] * y[r * 9 + j];
          for (let j = 0; j < 9; j++) expect(dx[r * 9 + j]).toBeCloseTo(y[r * 9 + j] * (g[r * 9 + j] - dot), 6);
        }
      });
    });

    for (const threads of [1, 2, 3]) {
      it(`DinoAttention gives the composed ops' bits (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
        await registerWasmKernels({ threads, relaxedSimd: relaxed });
        CASES.forEach((c, i) => {
          const dim = c.heads * c.hd;
          tf.tidy(() => {
            const qkv = tf.mul(randn([c.b, c.n, 3 * dim], 100 + i), 2) as tf.Tensor3D;
            const [q, kv, kColumn] = c.split
              ? [randn([c.b, c.nq, dim], 200 + i) as tf.Tensor3D, randn([c.b, c.n, 2 * dim], 300 + i) as tf.Tensor3D, 0]
              : [qkv, qkv, dim];
            const attrs = { numHeads: c.heads, dim, scale: c.hd ** -0.5, qColumn: 0, kColumn, vColumn: kColumn + dim };
            const out = tf.engine().runKernel(FUSED_KERNEL_NAMES.attention, { q, kv }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
            expect(out.shape).toEqual([c.b, c.nq, dim]);
            const expected = composedAttention(q, kv, c, kColumn);
            expect(bitsEqual(data(out), data(expected)), JSON.stringify(c)).toBe(true);
          });
        });
      });
    }

    it('DinoAttention names what does not fit', async () => {
      await registerWasmKernels({ threads: 1, relaxedSimd: relaxed });
      tf.tidy(() => {
        const qkv = tf.zeros([1, 4, 12]);
        const attrs = { numHeads: 2, dim: 4, scale: 0.5, qColumn: 0, kColumn: 4, vColumn: 10 };
        expect(() => tf.engine().runKernel(FUSED_KERNEL_NAMES.attention, { q: qkv, kv: qkv }, attrs as unknown as tf.NamedAttrMap))
          .toThrow(/DinoAttention: columns q 0, k 4, v 10 do not fit \(q \[1,4,12\], kv \[1,4,12\], dim 4, 2 heads\)/);
        const bad = { ...attrs, vColumn: 8, numHeads: 3 };
        expect(() => tf.engine().runKernel(FUSED_KERNEL_NAMES.attention, { q: qkv, kv: qkv }, bad as unknown as tf.NamedAttrMap))
          .toThrow(/heads must divide dim/);
      });
    });
  });
}
