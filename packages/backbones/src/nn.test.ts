// Drop path on the residual: the branch computed only for the samples the mask keeps must equal
// x + dropPath(branch(x)) drawn from the same generator, in value and in gradient.
import { expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { compareArrays, describeBackends } from '@dino-ts/core/testing';
import { dropPath, residualDropPath } from './nn';

describeBackends('residualDropPath', () => {
  // A per-sample branch with parameters: row-wise matMul, tanh, and a per-sample mean mixed back.
  let w: tf.Variable;
  let x: tf.Tensor;
  const branch = (t: tf.Tensor) => {
    const h = tf.tanh(tf.matMul(tf.reshape(t, [-1, 6]), w));
    const y = tf.reshape(h, t.shape);
    return tf.add(y, tf.mean(y, [1, 2], true));
  };

  /** Value and gradients (x, w) of sum(out * probe) for both forms, same seed. */
  const run = (dropProb: number, seed: number) => {
    w ??= tf.variable(tf.randomNormal([6, 6], 0, 0.5, 'float32', 3));
    x ??= tf.keep(tf.randomNormal([16, 5, 6], 0, 1, 'float32', 4));
    const probe = tf.randomNormal([16, 5, 6], 0, 1, 'float32', 9);
    const loss = (form: 'mask' | 'rows') => (xx: tf.Tensor, ww: tf.Tensor) => {
      void ww; // w is read through the closure; listing it makes tf.grads return its gradient
      const rng = new Rng(seed);
      const out = form === 'mask' ? tf.add(xx, dropPath(branch(xx), dropProb, rng)) : residualDropPath(xx, branch, dropProb, rng);
      return { out, loss: tf.sum(tf.mul(out, probe)) };
    };
    const result = (form: 'mask' | 'rows') => {
      const f = loss(form);
      const out = f(x, w).out.dataSync();
      const dx = tf.grad((xx: tf.Tensor) => f(xx, w).loss)(x).dataSync();
      // with every sample dropped nothing connects w to the loss (variableGrads refuses that)
      const dw = dropProb > 0.99 ? null : tf.variableGrads(() => f(x, w).loss as tf.Scalar, [w]).grads[w.name]!.dataSync();
      return { out, dx, dw, probe: probe.dataSync() };
    };
    return { mask: result('mask'), rows: result('rows') };
  };

  it('keeps some samples: same output bits, same gradients within rounding', () => {
    // seed 1 at drop 0.3 keeps some of the 16 samples and drops others (checked below)
    const rng = new Rng(1);
    const kept = Array.from({ length: 16 }, () => Math.floor(0.7 + rng.next()));
    expect(kept).toContain(0);
    expect(kept).toContain(1);
    const { mask, rows } = run(0.3, 1);
    expect(Array.from(rows.out)).toEqual(Array.from(mask.out));
    expect(compareArrays(rows.dx, mask.dx).maxAbs).toBeLessThan(1e-5);
    expect(compareArrays(rows.dw!, mask.dw!).maxAbs).toBeLessThan(1e-4);
    // dropped samples: output and gradient are exactly the identity's
    const xs = x.dataSync();
    for (let i = 0; i < 16; i++) {
      if (kept[i]) continue;
      for (let j = i * 30; j < (i + 1) * 30; j++) expect(rows.out[j]).toBe(xs[j]);
    }
  });

  it('keeps every sample or none', () => {
    // drop 0.01 with seed 2 keeps all 16: the same bits as the mask, gradients included
    const draws = (keep: number) => { const r = new Rng(2); return Array.from({ length: 16 }, () => Math.floor(keep + r.next())); };
    expect(draws(0.99)).not.toContain(0);
    expect(draws(0.001)).not.toContain(1);
    const all = run(0.01, 2);
    expect(Array.from(all.rows.out)).toEqual(Array.from(all.mask.out));
    expect(Array.from(all.rows.dw!)).toEqual(Array.from(all.mask.dw!));
    expect(Array.from(all.rows.dx)).toEqual(Array.from(all.mask.dx));
    // drop 0.999 with seed 2 keeps none: the identity, whose gradient is the probe itself
    const none = run(0.999, 2);
    expect(Array.from(none.rows.out)).toEqual(Array.from(x.dataSync()));
    expect(Array.from(none.rows.dx)).toEqual(Array.from(none.rows.probe));
  });
});
