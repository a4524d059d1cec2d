import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedMatMul } from './kernels/fused-mat-mul';
import { registerWasmKernels, unregisterWasmKernels } from './register';
import { maxAbsDiff, randn, stockAndOurs, useWasm } from './test/helpers';

type Activation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'elu' | 'sigmoid' | 'prelu';

/** The unfused formula: act(op(a) op(b) + bias), the reference for the fused kernel. */
function unfused(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean, bias: tf.Tensor | undefined, act: Activation, alpha?: tf.Tensor): tf.Tensor {
  let y = tf.matMul(a, b, ta, tb);
  if (bias) y = tf.add(y, bias);
  switch (act) {
    case 'relu': return tf.relu(y);
    case 'relu6': return tf.clipByValue(y, 0, 6);
    case 'leakyrelu': return tf.leakyRelu(y, 0.3);
    case 'elu': return tf.elu(y);
    case 'sigmoid': return tf.sigmoid(y);
    case 'prelu': return tf.prelu(y, alpha as tf.Tensor);
    default: return y;
  }
}

/** Expected values from the unfused formula on the stock kernels, then the fused op on ours. */
async function fusedVsUnfused(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean, bias: tf.Tensor | undefined, act: Activation) {
  const n = tb ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
  const alpha = act === 'prelu' ? tf.linspace(-0.5, 0.5, n) : undefined;
  unregisterWasmKernels();
  const expected = tf.tidy(() => unfused(a, b, ta, tb, bias, act, alpha).dataSync());
  await registerWasmKernels();
  const actual = tf.tidy(() =>
    tf.fused.matMul({
      a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: ta, transposeB: tb, bias, activation: act,
      leakyreluAlpha: 0.3, preluActivationWeights: alpha,
    }).dataSync(),
  );
  alpha?.dispose();
  return maxAbsDiff(actual, expected);
}

describe('_FusedMatMul [wasm]', () => {
  beforeAll(useWasm);

  it('is the registered wasm kernel after registerWasmKernels', async () => {
    await registerWasmKernels();
    expect(tf.getKernel('_FusedMatMul', 'wasm')?.kernelFunc).toBe(fusedMatMul);
  });

  it('equals matMul + bias + activation for every transpose combination, bias form and activation', async () => {
    const [m, k, n] = [19, 65, 17];
    const activations: Activation[] = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid', 'prelu'];
    let seed = 11;
    for (const ta of [false, true]) for (const tb of [false, true]) {
      // Scaled so relu6 clips some outputs.
      const a = tf.mul(randn(ta ? [k, m] : [m, k], seed++), 0.6);
      const b = randn(tb ? [n, k] : [k, n], seed++);
      const biases = [undefined, randn([n], seed++), randn([1], seed++), randn([m, n], seed++)];
      for (const bias of biases) for (const activation of activations) {
        const { err } = await fusedVsUnfused(a, b, ta, tb, bias, activation);
        expect(err, `ta=${ta} tb=${tb} bias=${bias?.shape} ${activation}`).toBeLessThanOrEqual(1e-4 * Math.sqrt(k));
      }
      tf.dispose([a, b, ...biases.filter((x): x is tf.Tensor => x != null)]);
    }
  });

  it('adds a one-row bias in the GEMM with the bits of matMul then add (edge tiles, K blocks, transposes)', async () => {
    await registerWasmKernels();
    let seed = 40;
    // K 400 and 800 span two and three K blocks of 384; 19 and 130 rows and 17 and 203 columns
    // leave edge tiles; 0 is the empty sum.
    for (const [m, k, n] of [[19, 400, 17], [130, 800, 203], [6, 8, 8], [5, 0, 9]]) {
      for (const ta of [false, true]) for (const tb of [false, true]) {
        const a = randn(ta ? [k, m] : [m, k], seed++), b = randn(tb ? [n, k] : [k, n], seed++);
        const bias = randn([n], seed++);
        const fused = tf.tidy(() => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: ta, transposeB: tb, bias }).dataSync());
        const composed = tf.tidy(() => tf.add(tf.matMul(a, b, ta, tb), bias).dataSync());
        expect(Array.from(fused), `${m}x${k}x${n} ta=${ta} tb=${tb}`).toEqual(Array.from(composed));
        tf.dispose([a, b, bias]);
      }
    }
  });

  it('equals the unfused formula for batched products with a broadcast operand', async () => {
    const a = randn([3, 9, 33], 1), b = randn([33, 10], 2), bias = randn([10], 3);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const [p, q] = x === a ? [x, y] : [tf.transpose(a, [0, 2, 1]), tf.transpose(b)];
      const { err } = await fusedVsUnfused(x === a ? p : q, x === a ? q : p, false, false, x === a ? bias : undefined, 'relu');
      expect(err).toBeLessThanOrEqual(1e-4 * Math.sqrt(33));
    }
  });

  it('has the same gradients as the stock kernel (bias and relu)', async () => {
    const a = randn([13, 21], 4), b = randn([21, 6], 5), bias = randn([6], 6);
    const f = () => {
      const g = tf.grads((x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: c, activation: 'relu' }))));
      return g([a, b, bias]);
    };
    const { stock, ours } = await stockAndOurs(f);
    for (let i = 0; i < 3; i++) {
      const { err, mag } = maxAbsDiff(ours[i], stock[i]);
      expect(err, `gradient ${i}`).toBeLessThanOrEqual(1e-5 * Math.max(1, mag));
    }
  });
});
