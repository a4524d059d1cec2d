import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmKernels } from './register';
import { useWasm } from './test/helpers';

describe('Identity and Cast [wasm]', () => {
  beforeAll(useWasm);

  it('clone shares the buffer, keeps values after the source is disposed, and frees it last', async () => {
    await registerWasmKernels();
    const backend = tf.backend();
    const buffers = backend.numDataIds();
    const x = tf.tensor([1, 2, 3]);
    const y = tf.clone(x);
    expect(backend.numDataIds()).toBe(buffers + 1); // one buffer for both
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    expect(backend.numDataIds()).toBe(buffers + 1);
    y.dispose();
    expect(backend.numDataIds()).toBe(buffers);
  });

  it('same-dtype cast shares, other casts convert', async () => {
    await registerWasmKernels();
    const x = tf.tensor([1.5, -2.5, 3]);
    const same = tf.cast(x, 'float32');
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.5, 3]);
    const i = tf.cast(x, 'int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([x, same, i]);
  });

  it('a variable assigned after a clone leaves the clone unchanged', async () => {
    await registerWasmKernels();
    const v = tf.variable(tf.tensor([1, 2]));
    const c = tf.clone(v);
    v.assign(tf.tensor([5, 6]));
    expect(Array.from(c.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([5, 6]);
    tf.dispose([v, c]);
  });
});
