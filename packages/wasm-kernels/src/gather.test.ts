import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmKernels } from './register';
import { randn, stockAndOurs, useWasm } from './test/helpers';

describe('GatherV2 [wasm]', () => {
  beforeAll(useWasm);

  it('matches the stock kernel on every axis, repeated and unordered indices, 2-D indices', async () => {
    const cases: [number[], number[], number[], number][] = [
      [[7], [6, 0, 3, 3], [4], 0],
      [[128, 5, 6], [0, 2, 3, 9, 127], [5], 0],
      [[4, 9, 3], [8, 1, 1, 0], [4], 1],
      [[4, 9, 3], [2, 0, 1, 2, 0, 0], [2, 3], 2],
      [[3, 5], [4, 4, 0, 1], [2, 2], -1],
    ];
    let seed = 1;
    for (const [shape, ix, ixShape, axis] of cases) {
      const x = randn(shape, seed++);
      const idx = tf.tensor(ix, ixShape, 'int32');
      const { stock, ours } = await stockAndOurs(() => tf.gather(x, idx, axis), ['GatherV2']);
      expect(Array.from(ours[0]), `${shape} axis ${axis}`).toEqual(Array.from(stock[0]));
      tf.dispose([x, idx]);
    }
  });

  it('keeps shapes and int32, and names an index out of range as the stock kernel does', async () => {
    await registerWasmKernels();
    const x = tf.reshape(tf.range(0, 24, 1, 'int32'), [2, 3, 4]);
    const y = tf.gather(x, tf.tensor2d([[2, 0]], [1, 2], 'int32'), 1);
    expect(y.shape).toEqual([2, 1, 2, 4]);
    expect(y.dtype).toBe('int32');
    expect(Array.from(await y.data())).toEqual([8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15]);
    expect(() => tf.gather(x, tf.tensor1d([3], 'int32'), 1)).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    expect(tf.gather(x, tf.tensor1d([], 'int32'), 0).shape).toEqual([0, 3, 4]);
  });
});
