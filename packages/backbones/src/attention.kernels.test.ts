// With @dino-ts/wasm-kernels registered, Attention runs DinoAttention outside gradient recording
// (forward, forwardQueries) and the composed ops inside it: both give the same bits, so a
// teacher's forward (no gradient) and a student's (recorded) agree exactly.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { FUSED_KERNELS, Rng, hasFusedKernel } from '@dino-ts/core';
import { registerWasmKernels, unregisterWasmKernels } from '@dino-ts/wasm-kernels';
import { Attention } from './attention';

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  await registerWasmKernels();
});
afterAll(() => unregisterWasmKernels());

const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer);

/** The kernels `f` runs, by name. */
async function kernelsOf(f: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => f());
  return info.kernels.map((k) => k.name);
}

for (const [dim, heads] of [[384, 6], [60, 4]]) {
  it(`head_dim ${dim / heads}: the fused attention outside gradients, the same bits as inside`, async () => {
    expect(hasFusedKernel(FUSED_KERNELS.attention)).toBe(true);
    const a = new Attention({ dim, numHeads: heads, qkvBias: true, rng: new Rng(3) });
    a.qkv.bias!.assign(tf.randomNormal([3 * dim], 0, 0.1, 'float32', 4));
    const x = tf.randomNormal([2, 23, dim], 0, 1, 'float32', 5) as tf.Tensor3D;
    expect(await kernelsOf(() => a.forward(x))).toContain(FUSED_KERNELS.attention);
    expect(await kernelsOf(() => a.forwardQueries(x, 1))).toContain(FUSED_KERNELS.attention);
    // Inside tf.grad the composed ops run (DinoAttention has no gradient); the forward value
    // is captured there and compared with the fused one.
    let recorded: Buffer | null = null;
    let recordedCls: Buffer | null = null;
    tf.grad((t: tf.Tensor) => {
      const y = a.forward(t as tf.Tensor3D);
      recorded = bits(y);
      recordedCls = bits(a.forwardQueries(t as tf.Tensor3D, 1));
      return tf.sum(y);
    })(x);
    expect(recorded).not.toBeNull();
    expect(bits(a.forward(x)).equals(recorded!)).toBe(true);
    expect(bits(a.forwardQueries(x, 1)).equals(recordedCls!)).toBe(true);
    // and the CLS-only query is the first row of the full fused output
    expect(bits(tf.slice(a.forward(x), [0, 0, 0], [-1, 1, -1])).equals(bits(a.forwardQueries(x, 1)))).toBe(true);
    a.dispose();
  });
}
