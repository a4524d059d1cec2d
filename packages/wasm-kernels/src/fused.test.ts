/**
 * The fused kernels against the composed ops they replace (random shapes, odd sizes, 1-3
 * threads), and their names against @dino-ts/core's, which is what looks them up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { FUSED_KERNELS, linear } from '@dino-ts/core';
import { registerWasmKernels, unregisterWasmKernels } from './register';
import { prepareWasmThreads } from './shared-memory';
import { FUSED_KERNEL_NAMES } from './kernels/fused';
import { maxAbsDiff, randn } from './test/helpers';

beforeAll(async () => {
  prepareWasmThreads();
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(() => unregisterWasmKernels());

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] => {
  const out = tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
};
const values = (ts: tf.Tensor[]): Float32Array[] => ts.map((t) => Float32Array.from(t.dataSync() as Float32Array));
const bitsEqual = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

/** The composed LayerNorm of @dino-ts/core (moments, biased variance) and its tfjs gradients. */
function composedLayerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, eps: number): tf.Tensor[] {
  const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
    const { mean, variance } = tf.moments(xx, xx.rank - 1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(xx, mean), tf.rsqrt(tf.add(variance, eps))), ww), bb);
  };
  const y = f(x, w, b);
  const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, bb), dy)))([x, w, b]);
  return [y, ...grads];
}

function composedGelu(x: tf.Tensor, dy: tf.Tensor): tf.Tensor[] {
  const f = (xx: tf.Tensor) => tf.mul(tf.mul(xx, 0.5), tf.add(tf.erf(tf.mul(xx, Math.SQRT1_2)), 1));
  return [f(x), tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), dy)))(x)];
}

describe('fused kernels', () => {
  it('have the names @dino-ts/core looks up', () => {
    expect(FUSED_KERNEL_NAMES).toEqual(FUSED_KERNELS);
  });

  for (const threads of [1, 2, 3]) {
    it(`LayerNorm and its gradients match the composed ops (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      await registerWasmKernels({ threads });
      for (const [shape, seed] of [[[5, 7], 1], [[3, 17, 384], 2], [[1000, 192], 3], [[2, 1, 13], 4], [[1, 1], 5]] as const) {
        tf.tidy(() => {
          const n = shape[shape.length - 1];
          const x = tf.add(tf.mul(randn([...shape], seed), 3), 1.5), w = tf.add(randn([n], seed + 10), 1), b = randn([n], seed + 20);
          const dy = randn([...shape], seed + 30);
          const [y, mean, rstd] = run(FUSED_KERNEL_NAMES.layerNorm, { x, weight: w, bias: b }, { eps: 1e-6 });
          const grads = run(FUSED_KERNEL_NAMES.layerNormGrad, { dy, x, weight: w, mean, rstd });
          const expected = values(composedLayerNorm(x, w, b, dy, 1e-6));
          const got = values([y, ...grads]);
          // forward, dx, dweight, dbias: float rounding of sums over n (rows) elements
          const tol = [2e-6, 2e-5, 1e-5, 1e-5];
          got.forEach((g, i) => {
            const { err, mag } = maxAbsDiff(g, expected[i]);
            expect(err, `${shape} output ${i}`).toBeLessThanOrEqual(tol[i] * Math.max(1, mag));
          });
          expect(mean.shape).toEqual(shape.slice(0, -1));
        });
      }
    });

    it(`GELU (same bits forward) and its gradient (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      await registerWasmKernels({ threads });
      for (const [shape, seed] of [[[7], 1], [[4, 65, 384], 2], [[70001], 3]] as const) {
        tf.tidy(() => {
          const x = tf.mul(randn([...shape], seed), 3), dy = randn([...shape], seed + 1);
          const [fy, fdx] = values([run(FUSED_KERNEL_NAMES.gelu, { x })[0], run(FUSED_KERNEL_NAMES.geluGrad, { dy, x })[0]]);
          const [cy, cdx] = values(composedGelu(x, dy));
          expect(bitsEqual(fy, cy), `${shape} forward`).toBe(true);
          const { err, mag } = maxAbsDiff(fdx, cdx);
          expect(err, `${shape} gradient`).toBeLessThanOrEqual(1e-6 * Math.max(1, mag));
        });
      }
    });

    it(`Linear gives the bits of matMul then add, and core's linear the composed gradients' bits (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      await registerWasmKernels({ threads });
      // rows x in -> out: edge tiles, two K blocks (in 400 > 384), a wide output split by columns
      for (const [[r, i, o], seed] of [[[1, 3, 5], 1], [[197, 400, 37], 2], [[24, 64, 1536], 3], [[0, 4, 6], 4]] as const) {
        tf.tidy(() => {
          const x = randn([r, i], seed), w = tf.mul(randn([o, i], seed + 1), 0.1), b = randn([o], seed + 2);
          const dy = randn([r, o], seed + 3);
          const [fy] = values(run(FUSED_KERNEL_NAMES.linear, { x, weight: w, bias: b }));
          const composed = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.add(tf.matMul(xx, ww, false, true), bb);
          expect(bitsEqual(fy, values([composed(x, w, b)])[0]), `${r}x${i}->${o} forward`).toBe(true);
          const loss = (f: (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.Tensor) =>
            tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, bb), dy)))([x, w, b]);
          const viaCore = values(loss((xx, ww, bb) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D)));
          values(loss(composed)).forEach((e, k) => expect(bitsEqual(viaCore[k], e), `${r}x${i}->${o} gradient ${k}`).toBe(true));
        });
      }
    });

    it(`AdamW and EMA give the composed update's bits (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      await registerWasmKernels({ threads });
      for (const [n, seed] of [[1, 1], [13, 2], [4096 * 64 + 3, 3]] as const) {
        tf.tidy(() => {
          const p = randn([n], seed), g = randn([n], seed + 1), m = tf.mul(randn([n], seed + 2), 0.1);
          const v = tf.square(tf.mul(randn([n], seed + 3), 0.1));
          const lr = 3e-4, wd = 0.04, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, t = 7;
          const bc2 = Math.sqrt(1 - beta2 ** t), stepSize = lr / (1 - beta1 ** t);
          const fused = values(run(FUSED_KERNEL_NAMES.adamw, { param: p, grad: g, expAvg: m, expAvgSq: v }, {
            decay: 1 - lr * wd, beta1, oneMinusBeta1: 1 - beta1, beta2, oneMinusBeta2: 1 - beta2, biasCorrection2Sqrt: bc2, eps, stepSize,
          }));
          // @dino-ts/dino's composed AdamW, op for op.
          const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
          const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
          const p1 = tf.sub(tf.mul(p, 1 - lr * wd), tf.mul(tf.div(m1, tf.add(tf.div(tf.sqrt(v1), bc2), eps)), stepSize));
          values([p1, m1, v1]).forEach((e, i) => expect(bitsEqual(fused[i], e), `n ${n} output ${i}`).toBe(true));
          const mom = 0.996;
          const [ema] = values(run(FUSED_KERNEL_NAMES.ema, { teacher: p, student: g }, { momentum: mom, oneMinusMomentum: 1 - mom }));
          expect(bitsEqual(ema, values([tf.add(tf.mul(p, mom), tf.mul(g, 1 - mom))])[0])).toBe(true);
        });
      }
    });
  }

  it('refuse mismatched inputs with the shapes named', async () => {
    await registerWasmKernels();
    expect(() => run(FUSED_KERNEL_NAMES.layerNorm, { x: tf.zeros([2, 5]), weight: tf.ones([4]), bias: tf.zeros([5]) }, { eps: 1e-6 })).toThrow(/parameter of shape \[4\] for rows of 5/);
    expect(() => run(FUSED_KERNEL_NAMES.linear, { x: tf.zeros([2, 5]), weight: tf.ones([3, 4]), bias: tf.zeros([3]) })).toThrow(/\[2,5\], \[3,4\] and \[3\]/);
    expect(() => run(FUSED_KERNEL_NAMES.ema, { teacher: tf.zeros([3]), student: tf.zeros([4]) }, { momentum: 0.9, oneMinusMomentum: 0.1 })).toThrow(/\[3\], \[4\] differ in size/);
  });

  it('are removed with the other kernels', () => {
    unregisterWasmKernels();
    for (const name of Object.values(FUSED_KERNEL_NAMES)) expect(tf.getKernel(name, 'wasm')).toBeUndefined();
  });
});
