import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ConfigError, ShapeError } from '@dino-ts/core';
import { describeBackends, readFixture, fx, assertClose, assertRelClose } from '@dino-ts/core/testing';
import { DinoLoss } from './loss';

const { tensors, metadata } = readFixture(fileURLToPath(new URL('../fixtures/loss.safetensors', import.meta.url)));
const cfg = JSON.parse(metadata.config);
const epochs: number[] = JSON.parse(metadata.epochs);
const B = Number(metadata.batch);
const K = cfg.out_dim;
const NCROPS = cfg.ncrops;

function makeLoss(): DinoLoss {
  return new DinoLoss({
    outDim: K, ncrops: NCROPS, nepochs: cfg.nepochs, warmupTeacherTemp: cfg.warmup_teacher_temp,
    teacherTemp: cfg.teacher_temp, warmupTeacherTempEpochs: cfg.warmup_teacher_temp_epochs,
    studentTemp: cfg.student_temp, centerMomentum: cfg.center_momentum,
  });
}

/** Entropy of softmax((t - c) / temp), averaged over rows, in float64 from the definition. */
function refEntropy(t: Float32Array, c: ArrayLike<number>, temp: number): number {
  let total = 0;
  const rows = t.length / K;
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: K }, (_, k) => (t[r * K + k] - c[k]) / temp);
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    total -= z.reduce((a, v) => a + Math.exp(v - lse) * (v - lse), 0);
  }
  return total / rows;
}

describeBackends('DinoLoss vs reference DINOLoss', () => {
  it('loss, gradient and center at two epochs of the temperature warm-up', () => {
    const dinoLoss = makeLoss();
    epochs.forEach((epoch, call) => {
      const s = tf.tensor2d(fx(tensors, `call${call}.student`), [NCROPS * B, K]);
      const t = tf.tensor2d(fx(tensors, `call${call}.teacher`), [2 * B, K]);
      const centerBefore = dinoLoss.center.dataSync().slice();
      const g = tf.grad((x: tf.Tensor) => dinoLoss.compute(x as tf.Tensor2D, t, epoch).loss)(s);
      assertRelClose(g.dataSync(), fx(tensors, `call${call}.grad`), 1e-5, `grad call ${call}`);
      const out = dinoLoss.forward(s, t, epoch);
      assertClose(out.loss.dataSync(), fx(tensors, `call${call}.loss`), 1e-5, `loss call ${call}`);
      assertClose(dinoLoss.center.dataSync(), fx(tensors, `call${call}.center`), 1e-6, `center call ${call}`);
      expect(out.nLossTerms).toBe(2 * (NCROPS - 1));
      // Monitoring numbers against their definitions.
      const h = refEntropy(fx(tensors, `call${call}.teacher`), centerBefore, dinoLoss.teacherTemp(epoch));
      expect(Math.abs(out.teacherEntropy.dataSync()[0] - h)).toBeLessThan(1e-5);
      expect(Math.abs(out.kl.dataSync()[0] - (out.loss.dataSync()[0] - h))).toBeLessThan(1e-5);
    });
    dinoLoss.dispose();
  });

  it('the per-view partial sums add up to the joint loss', () => {
    const dinoLoss = makeLoss();
    const s = tf.tensor2d(fx(tensors, 'call0.student'), [NCROPS * B, K]);
    const t = tf.tensor2d(fx(tensors, 'call0.teacher'), [2 * B, K]);
    const targets = dinoLoss.teacherTargets(t, 1);
    let sum = 0;
    for (let v = 0; v < NCROPS; v++) {
      sum += dinoLoss.crossEntropyTerms(tf.slice(s, [v * B, 0], [B, K]), [v], targets).dataSync()[0];
    }
    assertClose([sum / dinoLoss.nLossTerms], fx(tensors, 'call0.loss'), 1e-5, 'summed loss');
    // ... and so do the sums over slices of the batch rows (a local and a global view).
    let rowSum = 0;
    for (const [r0, r1] of [[0, 2], [2, 3], [3, B]]) {
      const rows = (v: number) => tf.slice(s, [v * B + r0, 0], [r1 - r0, K]);
      rowSum += dinoLoss.crossEntropyTerms(tf.concat([rows(1), rows(3)]) as tf.Tensor2D, [1, 3], targets, [r0, r1]).dataSync()[0];
    }
    const whole = dinoLoss.crossEntropyTerms(tf.concat([tf.slice(s, [B, 0], [B, K]), tf.slice(s, [3 * B, 0], [B, K])]) as tf.Tensor2D, [1, 3], targets);
    assertClose([rowSum], whole.dataSync(), 1e-5, 'row slices');
    expect(() => dinoLoss.crossEntropyTerms(tf.slice(s, [0, 0], [2, K]), [0], targets, [4, 6])).toThrow(ConfigError);
    dinoLoss.dispose();
  });

  it('frees its temporaries', () => {
    const dinoLoss = makeLoss();
    const s = tf.randomNormal([NCROPS * B, K]) as tf.Tensor2D;
    const t = tf.randomNormal([2 * B, K]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const out = dinoLoss.forward(s, t, 0);
    for (const x of [out.loss, out.kl, out.teacherEntropy]) x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    dinoLoss.dispose();
  });

  it('rejects mis-shaped outputs', () => {
    const dinoLoss = makeLoss();
    expect(() => dinoLoss.compute(tf.zeros([NCROPS * B, K]) as tf.Tensor2D, tf.zeros([3, K]) as tf.Tensor2D, 0)).toThrow(ShapeError);
    expect(() => dinoLoss.compute(tf.zeros([NCROPS * B + 1, K]) as tf.Tensor2D, tf.zeros([2 * B, K]) as tf.Tensor2D, 0)).toThrow(ShapeError);
    expect(() => dinoLoss.compute(tf.zeros([NCROPS * B, K]) as tf.Tensor2D, tf.zeros([2 * B, K]) as tf.Tensor2D, cfg.nepochs)).toThrow(/epoch/);
    dinoLoss.dispose();
  });
});

it('validates its configuration, naming the parameter', () => {
  const base = { outDim: 8, ncrops: 4, nepochs: 5 };
  const cases: Array<[string, object]> = [
    ['ncrops', { ncrops: 1 }],
    ['teacherTemp', { teacherTemp: 0 }],
    ['warmupTeacherTemp', { warmupTeacherTemp: -0.1 }],
    ['studentTemp', { studentTemp: 0 }],
    ['outDim', { outDim: 0 }],
    ['centerMomentum', { centerMomentum: 1.5 }],
    ['centerMomentum', { centerMomentum: -0.1 }],
    ['warmupTeacherTempEpochs', { warmupTeacherTempEpochs: 6 }],
  ];
  for (const [param, patch] of cases) {
    let err: unknown;
    try {
      new DinoLoss({ ...base, ...patch });
    } catch (e) {
      err = e;
    }
    expect(err, param).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).param).toBe(param);
  }
});
