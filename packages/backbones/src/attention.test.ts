// Attention's shortcuts against the reference formula written out op by op: the power-of-two
// scale applied to q instead of the scores, and q projected for the first queries alone.
import { expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { Attention } from './attention';

/** The reference's Attention.forward: one qkv product, scores scaled after q k^T, proj. */
function referenceAttention(a: Attention, x: tf.Tensor3D): tf.Tensor3D {
  const [b, n, d] = x.shape;
  const qkv = tf.add(tf.matMul(tf.reshape(x, [b * n, d]), a.qkv.weight, false, true), a.qkv.bias!);
  const [q, k, v] = tf.split(tf.reshape(qkv, [b, n, 3 * d]), 3, 2).map((t) =>
    tf.transpose(tf.reshape(t, [b, n, a.numHeads, a.headDim]), [0, 2, 1, 3]));
  const attn = tf.softmax(tf.mul(tf.matMul(q, k, false, true), a.headDim ** -0.5));
  const ctx = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [b * n, d]);
  return tf.reshape(tf.add(tf.matMul(ctx, a.proj.weight, false, true), a.proj.bias!), [b, n, d]);
}

const bits = (t: tf.Tensor) => Array.from(t.dataSync());

describeBackends('Attention', () => {
  // head_dim 64 (scale 1/8, a power of two) and 32 (scale 0.177, applied to the scores)
  for (const [dim, heads] of [[128, 2], [64, 2]]) {
    it(`head_dim ${dim / heads}: the reference formula's values and gradients`, () => {
      const a = new Attention({ dim, numHeads: heads, qkvBias: true, rng: new Rng(1) });
      // non-zero biases so that their gradients and sums are exercised
      a.qkv.bias!.assign(tf.randomNormal([3 * dim], 0, 0.1, 'float32', 2));
      a.proj.bias!.assign(tf.randomNormal([dim], 0, 0.1, 'float32', 3));
      const x = tf.randomNormal([3, 17, dim], 0, 1, 'float32', 4) as tf.Tensor3D;
      const probe = tf.randomNormal([3, 17, dim], 0, 1, 'float32', 5);
      expect(bits(a.forward(x))).toEqual(bits(referenceAttention(a, x)));
      const grads = (f: (t: tf.Tensor3D) => tf.Tensor) =>
        tf.grads((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor3D), probe)))([x])[0];
      expect(bits(grads((t) => a.forward(t)))).toEqual(bits(grads((t) => referenceAttention(a, t))));
      // the CLS query alone: the first row of the full output
      const cls = a.forwardQueries(x, 1);
      expect(cls.shape).toEqual([3, 1, dim]);
      const full = tf.slice(referenceAttention(a, x), [0, 0, 0], [-1, 1, -1]);
      expect(bits(cls)).toEqual(bits(full));
      a.dispose();
    });
  }
});
