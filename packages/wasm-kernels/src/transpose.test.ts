import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { simplifyTranspose, transpose } from './kernels/transpose';
import { registerWasmKernels } from './register';
import { maxAbsDiff, randn, stockAndOurs, useWasm } from './test/helpers';

/** Every permutation of [0, n). */
function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  }
  return out;
}

describe('simplifyTranspose', () => {
  it('drops size-1 dims and merges dims that stay adjacent', () => {
    expect(simplifyTranspose([8, 7, 4, 7, 4, 1], [0, 1, 3, 2, 4, 5])).toEqual({ shape: [56, 4, 7, 4], perm: [0, 2, 1, 3] });
    expect(simplifyTranspose([64, 50, 3, 3, 64], [2, 0, 3, 1, 4])).toEqual({ shape: [64, 50, 3, 3, 64], perm: [2, 0, 3, 1, 4] });
    expect(simplifyTranspose([2, 3, 4], [0, 1, 2])).toEqual({ shape: [24], perm: [0] });
    expect(simplifyTranspose([5, 6], [1, 0])).toEqual({ shape: [5, 6], perm: [1, 0] });
    expect(simplifyTranspose([1, 1], [1, 0])).toEqual({ shape: [1], perm: [0] });
  });
});

describe('Transpose [wasm]', () => {
  beforeAll(useWasm);

  it('is the registered wasm kernel after registerWasmKernels', async () => {
    await registerWasmKernels();
    expect(tf.getKernel('Transpose', 'wasm')?.kernelFunc).toBe(transpose);
  });

  it('matches the stock kernel for every permutation of ranks 2-4 on odd sizes', async () => {
    const shapes = [[17, 63], [65, 3], [1, 129], [3, 17, 5], [4, 1, 9], [13, 65, 2], [3, 5, 7, 9], [2, 1, 17, 4]];
    for (const shape of shapes) {
      const x = randn(shape, shape.length);
      for (const perm of permutations(shape.length)) {
        const { stock, ours } = await stockAndOurs(() => tf.transpose(x, perm));
        expect(maxAbsDiff(ours[0], stock[0]).err, `${shape} perm ${perm}`).toBe(0);
      }
      x.dispose();
    }
  });

  it('matches the stock kernel on the ViT attention and patchify transposes (5-D, 6-D)', async () => {
    const cases: [number[], number[]][] = [
      [[4, 50, 3, 3, 64], [2, 0, 3, 1, 4]],
      [[3, 4, 3, 50, 64], [1, 3, 0, 2, 4]],
      [[4, 3, 50, 64], [0, 2, 1, 3]],
      [[4, 50, 3, 64], [0, 2, 3, 1]],
      [[2, 7, 4, 7, 4, 3], [0, 1, 3, 2, 4, 5]],
      [[2, 7, 4, 7, 4, 1], [0, 1, 3, 2, 4, 5]],
      [[3, 5, 2, 4, 6, 7], [5, 3, 1, 0, 4, 2]],
    ];
    for (const [shape, perm] of cases) {
      const x = randn(shape, 9);
      const { stock, ours } = await stockAndOurs(() => tf.transpose(x, perm));
      expect(maxAbsDiff(ours[0], stock[0]).err, `${shape} perm ${perm}`).toBe(0);
      x.dispose();
    }
  });

  it('transposes int32 exactly and leaves bool to the stock kernel', async () => {
    const xi = tf.reshape(tf.range(0, 3 * 5 * 7, 1, 'int32'), [3, 5, 7]);
    const { stock, ours } = await stockAndOurs(() => tf.transpose(xi, [2, 0, 1]));
    expect(Array.from(ours[0])).toEqual(Array.from(stock[0]));
    await registerWasmKernels();
    const xb = tf.tensor([[true, false, true], [false, false, true]], undefined, 'bool');
    expect(tf.transpose(xb).arraySync()).toEqual([[1, 0], [0, 0], [1, 1]]);
  });

  it('handles empty tensors and does not leak', async () => {
    await registerWasmKernels();
    expect(tf.transpose(tf.zeros([0, 3, 2]), [2, 0, 1]).shape).toEqual([2, 0, 3]);
    const x = randn([6, 5, 4], 1);
    tf.transpose(x, [1, 2, 0]).dispose();
    const before = tf.memory();
    for (let i = 0; i < 3; i++) tf.transpose(x, [2, 1, 0]).dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    x.dispose();
  });
});
