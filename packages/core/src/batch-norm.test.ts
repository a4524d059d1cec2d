// The one BatchNorm: PyTorch's update rule (momentum, unbiased running variance,
// num_batches_tracked), channels-last over any rank, eval mode, no leaks. The expected values
// are computed here by hand from the rule, in float64.
import { it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors';
import { assertClose, describeBackends } from './testing';
import { BatchNorm, BATCH_NORM_DEFAULTS } from './batch-norm';

/** Per-channel mean and biased / unbiased variance of channels-last rows. */
function stats(rows: number[][]): { mean: number[]; biased: number[]; unbiased: number[] } {
  const n = rows.length;
  const c = rows[0].length;
  const mean = Array.from({ length: c }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / n);
  const ss = Array.from({ length: c }, (_, j) => rows.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0));
  return { mean, biased: ss.map((s) => s / n), unbiased: ss.map((s) => s / (n - 1)) };
}

describeBackends('BatchNorm', () => {
  it("follows PyTorch's running-statistics rule over two training batches ([N, C])", async () => {
    expect(BATCH_NORM_DEFAULTS).toEqual({ eps: 1e-5, momentum: 0.1 });
    const bn = new BatchNorm(2);
    expect([...bn.params().keys()]).toEqual(['weight', 'bias']);
    expect([...bn.buffers().keys()]).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    const m = 0.1;
    let rm = [0, 0];
    let rv = [1, 1];
    const batches = [
      [[1, 10], [2, 20], [4, 0], [5, -2]],
      [[0.5, 3], [-1, 3.5], [2, 4]],
    ];
    for (const rows of batches) {
      const x = tf.tensor2d(rows);
      const y = bn.forward(x, true);
      const s = stats(rows);
      rm = rm.map((r, j) => (1 - m) * r + m * s.mean[j]);
      rv = rv.map((r, j) => (1 - m) * r + m * s.unbiased[j]);
      // The output uses the batch mean and the biased variance.
      const expectedY = rows.flatMap((r) => r.map((v, j) => (v - s.mean[j]) / Math.sqrt(s.biased[j] + 1e-5)));
      assertClose(await y.data(), expectedY, 1e-5, 'train output');
      tf.dispose([x, y]);
    }
    assertClose(await bn.runningMean.data(), rm, 1e-6, 'running_mean');
    assertClose(await bn.runningVar.data(), rv, 1e-6, 'running_var');
    expect((await bn.numBatchesTracked.data())[0]).toBe(2);

    // Eval mode (the module's default): running statistics, nothing changes.
    const x = tf.tensor2d([[3, 1]]);
    const y = bn.forward(x);
    assertClose(await y.data(), [0, 1].map((j) => ([3, 1][j] - rm[j]) / Math.sqrt(rv[j] + 1e-5)), 1e-5, 'eval output');
    expect((await bn.numBatchesTracked.data())[0]).toBe(2);
    // train() makes training the default.
    bn.train();
    tf.tidy(() => {
      bn.forward(tf.tensor2d([[0, 0], [1, 1]]));
    });
    expect((await bn.numBatchesTracked.data())[0]).toBe(3);
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('normalises NHWC per channel over (B, H, W) with the given momentum, affine parameters applied', async () => {
    const bn = new BatchNorm(3, { momentum: 0.25 });
    bn.weight.assign(tf.tensor1d([1, 2, 0.5]));
    bn.bias.assign(tf.tensor1d([0, -1, 3]));
    const values = Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 3));
    const x = tf.tensor4d(values, [2, 2, 3, 3]);
    const y = bn.forward(x, true);
    const rows = Array.from({ length: values.length / 3 }, (_, i) => values.slice(3 * i, 3 * i + 3));
    const s = stats(rows); // n = B * H * W = 12 values per channel
    assertClose(await bn.runningMean.data(), s.mean.map((v) => 0.25 * v), 1e-5, 'running_mean');
    assertClose(await bn.runningVar.data(), s.unbiased.map((v) => 0.75 + 0.25 * v), 1e-5, 'running_var');
    const w = [1, 2, 0.5];
    const b = [0, -1, 3];
    const expectedY = rows.flatMap((r) => r.map((v, j) => ((v - s.mean[j]) / Math.sqrt(s.biased[j] + 1e-5)) * w[j] + b[j]));
    assertClose(await y.data(), expectedY, 1e-5, 'output');
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('gradients flow to weight and bias, not to the buffers; no tensors leak', () => {
    const bn = new BatchNorm(4);
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 1);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(bn.forward(x, true))) as tf.Scalar, [bn.weight, bn.bias]);
      tf.dispose([value, grads]);
      tf.dispose(bn.forward(x));
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    expect([...bn.buffers().values()].every((v) => !v.trainable)).toBe(true);
    tf.dispose(x);
    bn.dispose();
  });

  it('rejects inputs whose last axis is not the channel count', () => {
    const bn = new BatchNorm(3);
    const x = tf.zeros([2, 4]);
    const v = tf.zeros([3]);
    expect(() => bn.forward(x, true)).toThrow(ShapeError);
    expect(() => bn.forward(v)).toThrow(/channels last/);
    tf.dispose([x, v]);
    bn.dispose();
  });
});
