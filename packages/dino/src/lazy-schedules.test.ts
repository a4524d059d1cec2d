/**
 * The trainer's schedules are computed per iteration (no array as long as the run): the values
 * must be those of the whole-array form bit for bit, and a run configured for a hundred million
 * epochs must cost no more memory than a short one.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { it, expect, describe, beforeAll } from 'vitest';
import { ConfigError, Rng } from '@dino-ts/core';
import { VisionTransformer } from '@dino-ts/backbones';
import { CosineSchedule, cosineScheduler, linspace } from './schedules';
import { teacherTempSchedule } from './loss';
import { DinoTrainer } from './trainer';
import type { DinoTrainerConfig } from './config';

/** The array form as it was written before the per-iteration one: the reference for equality. */
function arrayForm(base: number, final: number, epochs: number, nit: number, warmupEpochs = 0, start = 0): Float64Array {
  const total = epochs * nit;
  const warmupIters = warmupEpochs * nit;
  const out = new Float64Array(total);
  if (warmupEpochs > 0) out.set(linspace(start, base, warmupIters));
  const n = total - warmupIters;
  for (let i = 0; i < n; i++) out[warmupIters + i] = final + 0.5 * (base - final) * (1 + Math.cos((Math.PI * i) / n));
  return out;
}

describe('CosineSchedule', () => {
  const cases: [number, number, number, number, number, number][] = [
    [0.0005, 1e-6, 100, 7, 10, 0],
    [0.04, 0.4, 3, 5, 0, 0],
    [0.996, 1, 2, 1, 0, 0],
    [1, 0, 4, 3, 1, 0.25],
    [0.3, 0.3, 2, 2, 2, 0.1],
    [1e-3, 1e-6, 1, 1, 1, 0],
    [2, -1, 5, 13, 3, -0.5],
  ];
  it.each(cases)('at(i) equals the array form bit for bit (base %d, final %d, %d epochs x %d, warm-up %d from %d)', (...args) => {
    const s = new CosineSchedule(...args);
    const a = arrayForm(...args);
    expect(s.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Object.is(s.at(i), a[i]), `i = ${i}`).toBe(true);
    expect(Array.from(cosineScheduler(...args))).toEqual(Array.from(a));
  });

  it('checks its arguments and the index like the array form', () => {
    expect(() => new CosineSchedule(1, 0, 0, 10)).toThrow(ConfigError);
    expect(() => new CosineSchedule(1, 0, 5, 10, 6)).toThrow(/warmupEpochs/);
    const s = new CosineSchedule(1, 0, 2, 3);
    expect(() => s.at(6)).toThrow(/iteration = 6: must be an integer in \[0, 5\]/);
    expect(() => s.at(-1)).toThrow(ConfigError);
    expect(() => s.at(1.5)).toThrow(ConfigError);
  });

  it('answers at once for a run of 10^14 iterations', () => {
    const s = new CosineSchedule(0.001, 1e-6, 100_000_000, 1_000_000, 10);
    expect(s.length).toBe(1e14);
    expect(s.at(0)).toBe(0);
    expect(s.at(1e14 - 1)).toBeCloseTo(1e-6, 12);
  });
});

function config(extra: Partial<DinoTrainerConfig>): DinoTrainerConfig {
  return {
    backbone: { factory: ({ dropPathRate, seed }) => new VisionTransformer({ imgSize: 8, patchSize: 4, embedDim: 8, depth: 1, numHeads: 2, dropPathRate, seed }), dropPathRate: 0 },
    head: { outDim: 16, hiddenDim: 12, bottleneckDim: 4 },
    multicrop: { localCropsNumber: 0 },
    batchSize: 2,
    itersPerEpoch: 3,
    seed: 1,
    ...extra,
  };
}

describe('DinoTrainer schedules', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('a run of 10^8 epochs is built and stepped without arrays for its schedules', async () => {
    const heap = process.memoryUsage().heapUsed;
    const t0 = Date.now();
    const trainer = new DinoTrainer(config({ epochs: 100_000_000, optim: { warmupEpochs: 10 }, loss: { warmupTeacherTemp: 0.04, teacherTemp: 0.07, warmupTeacherTempEpochs: 5 } }));
    expect(trainer.totalIterations).toBe(300_000_000);
    const rng = new Rng(2);
    const crops = [0, 1].map(() => tf.tensor4d(Float32Array.from({ length: 2 * 8 * 8 * 3 }, () => rng.normal()), [2, 8, 8, 3]));
    const m = await trainer.step(crops, 0);
    tf.dispose(crops);
    expect(Number.isFinite(m.loss)).toBe(true);
    expect(m.teacherTemp).toBe(0.04);
    // Three schedules of 3e8 float64 would be 7 GB; the teacher temperature's alone 800 MB.
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(100 * 2 ** 20);
    expect(Date.now() - t0).toBeLessThan(20_000);
    // The warm-up's 5 epochs and one constant one: the loss's whole per-epoch schedule.
    expect(trainer.dinoLoss.teacherTempSchedule.length).toBe(6);
    trainer.dispose();
  });

  it('gives the teacher temperature of the full per-epoch schedule at every epoch, and the whole arrays on request', async () => {
    const c = config({ epochs: 9, optim: { warmupEpochs: 2 }, loss: { warmupTeacherTemp: 0.04, teacherTemp: 0.07, warmupTeacherTempEpochs: 4 } });
    const trainer = new DinoTrainer(c);
    const full = teacherTempSchedule(0.04, 0.07, 4, 9);
    const rng = new Rng(3);
    for (const epoch of [0, 2, 3, 4, 8]) {
      const crops = [0, 1].map(() => tf.tensor4d(Float32Array.from({ length: 2 * 8 * 8 * 3 }, () => rng.normal()), [2, 8, 8, 3]));
      const m = await trainer.step(crops, epoch * 3, epoch);
      tf.dispose(crops);
      expect(m.teacherTemp, `epoch ${epoch}`).toBe(full[epoch]);
      expect(m.lr).toBe(trainer.lrSchedule[epoch * 3]);
      expect(m.wd).toBe(trainer.wdSchedule[epoch * 3]);
      expect(m.momentum).toBe(trainer.momentumSchedule[epoch * 3]);
    }
    expect(Array.from(trainer.lrSchedule)).toEqual(Array.from(arrayForm((0.0005 * 2) / 256, 1e-6, 9, 3, 2)));
    // A one-epoch warm-up: epoch 0 at the warm-up temperature, every later one at the final one.
    const one = new DinoTrainer(config({ epochs: 4, optim: { warmupEpochs: 0 }, loss: { warmupTeacherTemp: 0.04, teacherTemp: 0.07, warmupTeacherTempEpochs: 1 } }));
    const fullOne = teacherTempSchedule(0.04, 0.07, 1, 4);
    for (const epoch of [0, 1, 3]) {
      const x = [0, 1].map(() => tf.tensor4d(Float32Array.from({ length: 2 * 8 * 8 * 3 }, () => rng.normal()), [2, 8, 8, 3]));
      expect((await one.step(x, epoch * 3, epoch)).teacherTemp, `epoch ${epoch}`).toBe(fullOne[epoch]);
      tf.dispose(x);
    }
    one.dispose();
    const crops = [0, 1].map(() => tf.zeros([2, 8, 8, 3]) as tf.Tensor4D);
    await expect(trainer.step(crops, 27)).rejects.toThrow(/iteration = 27/);
    await expect(trainer.step(crops, 3, 9)).rejects.toThrow(/epoch = 9: must be an integer in \[0, 8\]/);
    tf.dispose(crops);
    trainer.dispose();
  });
});
