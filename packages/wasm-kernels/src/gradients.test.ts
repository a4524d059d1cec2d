import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmKernels, registeredWasmKernels, unregisterWasmKernels, WASM_KERNEL_NAMES } from './register';
import { randn, stockAndOurs, useWasm } from './test/helpers';

/**
 * A two-block pre-norm transformer on tokens [B, N, D] written the way the backbones are:
 * fused linear layers with bias, LayerNorm from moments, split qkv, 4-D transposes, batched
 * attention matmuls, softmax, exact GELU, a CLS slice; loss mean(cls^2) + a weight term.
 */
function tinyTransformer(x: tf.Tensor, params: tf.Variable[], heads: number): tf.Scalar {
  const [b, n, d] = x.shape;
  const hd = d / heads;
  const lin = (t: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) => {
    const [inDim, outDim] = w.shape as [number, number];
    const y = tf.fused.matMul({ a: tf.reshape(t, [-1, inDim]) as tf.Tensor2D, b: w as tf.Tensor2D, bias });
    return tf.reshape(y, [...t.shape.slice(0, -1), outDim]);
  };
  const ln = (t: tf.Tensor, g: tf.Tensor, beta: tf.Tensor) => {
    const { mean, variance } = tf.moments(t, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-6))), g), beta);
  };
  let t = x;
  for (let blk = 0; blk < 2; blk++) {
    const [g1, b1, wqkv, bqkv, wp, bp, g2, b2, w1, bb1, w2, bb2] = params.slice(blk * 12, blk * 12 + 12);
    const h = ln(t, g1, b1);
    const [q, k, v] = tf.split(lin(h, wqkv, bqkv), 3, 2).map((u) => tf.transpose(tf.reshape(u, [b, n, heads, hd]), [0, 2, 1, 3]));
    const attn = tf.softmax(tf.mul(tf.matMul(q, k, false, true), hd ** -0.5));
    const ctx = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [b, n, d]);
    t = tf.add(t, lin(ctx, wp, bp));
    const m = lin(ln(t, g2, b2), w1, bb1);
    const gelu = tf.mul(tf.mul(m, 0.5), tf.add(tf.erf(tf.mul(m, Math.SQRT1_2)), 1));
    t = tf.add(t, lin(gelu, w2, bb2));
  }
  const cls = tf.reshape(tf.slice(t, [0, 0, 0], [b, 1, d]), [b, d]);
  return tf.add(tf.mean(tf.square(cls)), tf.mul(tf.sum(tf.exp(tf.mul(params[0], 0.1))), 1e-3)) as tf.Scalar;
}

function makeParams(d: number, seed: number): tf.Variable[] {
  const ps: tf.Variable[] = [];
  for (let blk = 0; blk < 2; blk++) {
    const s = seed + blk * 20;
    const w = (shape: number[], i: number) => tf.variable(tf.mul(randn(shape, s + i), 0.2));
    ps.push(
      tf.variable(tf.add(tf.mul(randn([d], s), 0.1), 1)), w([d], s + 1),
      w([d, 3 * d], 2), w([3 * d], 3), w([d, d], 4), w([d], 5),
      tf.variable(tf.add(tf.mul(randn([d], s + 6), 0.1), 1)), w([d], 7),
      w([d, 2 * d], 8), w([2 * d], 9), w([2 * d, d], 10), w([d], 11),
    );
  }
  return ps;
}

describe('gradients through a small transformer [wasm]', () => {
  beforeAll(useWasm);

  it('equal the stock kernels’ gradients', async () => {
    const x = randn([3, 9, 12], 42);
    const params = makeParams(12, 100);
    const { stock, ours } = await stockAndOurs(() => {
      const { value, grads } = tf.variableGrads(() => tinyTransformer(x, params, 3), params);
      return [value, ...params.map((p) => grads[p.name])];
    });
    expect(ours.length).toBe(params.length + 1);
    expect(Math.abs(ours[0][0] - stock[0][0])).toBeLessThanOrEqual(1e-5 * Math.abs(stock[0][0]));
    for (let i = 1; i < ours.length; i++) {
      let num = 0, den = 0;
      for (let j = 0; j < ours[i].length; j++) {
        num += (ours[i][j] - stock[i][j]) ** 2;
        den += stock[i][j] ** 2;
      }
      expect(den, `gradient ${i - 1} is not zero`).toBeGreaterThan(0);
      expect(Math.sqrt(num / den), `gradient of parameter ${i - 1}`).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose([x, ...params]);
  });

  it('a training step frees everything it allocates', async () => {
    await registerWasmKernels();
    const x = randn([2, 5, 8], 1);
    const params = makeParams(8, 7);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tinyTransformer(x, params, 2), params);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory();
    const buffers = tf.backend().numDataIds();
    step();
    step();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.backend().numDataIds()).toBe(buffers);
    tf.dispose([x, ...params]);
  });
});

describe('registration [wasm]', () => {
  beforeAll(useWasm);

  it('unregister restores exactly the stock kernel configs, register replaces them again', async () => {
    unregisterWasmKernels();
    const stock = new Map(WASM_KERNEL_NAMES.map((n) => [n, tf.getKernel(n, 'wasm')]));
    await registerWasmKernels();
    expect(registeredWasmKernels().sort()).toEqual([...WASM_KERNEL_NAMES].sort());
    for (const n of WASM_KERNEL_NAMES) expect(tf.getKernel(n, 'wasm'), n).not.toBe(stock.get(n));
    unregisterWasmKernels();
    expect(registeredWasmKernels()).toEqual([]);
    for (const n of WASM_KERNEL_NAMES) expect(tf.getKernel(n, 'wasm'), n).toBe(stock.get(n));
    unregisterWasmKernels(); // no-op
  });

  it('registers a subset and switches subsets', async () => {
    unregisterWasmKernels();
    const stockMul = tf.getKernel('Multiply', 'wasm');
    await registerWasmKernels({ kernels: ['BatchMatMul', 'Transpose'] });
    expect(registeredWasmKernels().sort()).toEqual(['BatchMatMul', 'Transpose']);
    expect(tf.getKernel('Multiply', 'wasm')).toBe(stockMul);
    await registerWasmKernels({ kernels: ['Multiply'] });
    expect(registeredWasmKernels()).toEqual(['Multiply']);
    expect(tf.getKernel('Multiply', 'wasm')).not.toBe(stockMul);
    unregisterWasmKernels();
    expect(tf.getKernel('Multiply', 'wasm')).toBe(stockMul);
  });

  it('overlapping registrations keep the stock kernels to restore', async () => {
    unregisterWasmKernels();
    const stockMatMul = tf.getKernel('BatchMatMul', 'wasm');
    await Promise.all([registerWasmKernels(), registerWasmKernels(), registerWasmKernels({ kernels: ['BatchMatMul'] })]);
    expect(registeredWasmKernels()).toEqual(['BatchMatMul']);
    unregisterWasmKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(stockMatMul);
  });

  it('rejects unknown kernel names, naming the allowed ones', async () => {
    await expect(registerWasmKernels({ kernels: ['Conv2D'] })).rejects.toThrow(/Conv2D.*allowed: BatchMatMul/);
  });

  it('leaves other backends alone', async () => {
    await registerWasmKernels();
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    try {
      const y = tf.matMul(tf.ones([2, 3]), tf.ones([2, 3]), false, true);
      expect(Array.from(y.dataSync())).toEqual([3, 3, 3, 3]);
    } finally {
      await useWasm();
    }
  });
});
