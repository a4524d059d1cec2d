import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { ConfigError, ShapeError, Rng, encodeSafetensors, decodeSafetensors } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { ResNet, VisionTransformer } from '@dino-ts/backbones';
import { DinoTrainer, NonFiniteLossError } from './trainer';
import type { DinoTrainerConfig } from './config';

/** A very small run: one-block ViT on 8 px globals / 4 px locals, K = 16. */
function tinyConfig(extra: Partial<DinoTrainerConfig> = {}): DinoTrainerConfig {
  const base: DinoTrainerConfig = {
    backbone: {
      factory: ({ dropPathRate, seed }) => new VisionTransformer({ imgSize: 8, patchSize: 4, embedDim: 8, depth: 1, numHeads: 2, dropPathRate, seed }),
      dropPathRate: 0.2,
    },
    head: { outDim: 16, hiddenDim: 12, bottleneckDim: 4 },
    multicrop: { localCropsNumber: 2 },
    optim: { warmupEpochs: 1, lr: 0.5 },
    batchSize: 2, epochs: 4, itersPerEpoch: 3, seed: 3,
  };
  // Sub-configs merge (a test's `loss: { teacherTemp }` keeps the base's other groups).
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = (base as unknown as Record<string, unknown>)[k];
    out[k] = v && b && typeof v === 'object' && typeof b === 'object' ? { ...b, ...v } : v;
  }
  return out as unknown as DinoTrainerConfig;
}

function tinyCrops(rng: Rng, b = 2): tf.Tensor4D[] {
  const make = (px: number) => tf.tensor4d(Float32Array.from({ length: b * px * px * 3 }, () => rng.normal()), [b, px, px, 3]);
  return [make(8), make(8), make(4), make(4)];
}

async function snapshot(trainer: DinoTrainer): Promise<Map<string, Float32Array>> {
  const { tensors } = await trainer.getState();
  return new Map(Object.entries(tensors).map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)]));
}

function expectSameState(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
}

describeBackends('DinoTrainer', () => {
  for (const useBnInHead of [false, true]) {
    it(`does not leak tensors across steps (${useBnInHead ? 'BatchNorm head, joint backward' : 'per-view backward'})`, async () => {
      // One iteration per epoch: step 1 (epoch 0) has the last layer frozen, so AdamW creates its
      // state for it in step 2 (PyTorch's lazy state); from then on nothing may grow.
      const trainer = new DinoTrainer(tinyConfig({ head: { useBn: useBnInHead }, epochs: 10, itersPerEpoch: 1 }));
      const rng = new Rng(1);
      let after2 = -1;
      for (let it = 0; it < 10; it++) {
        const crops = tinyCrops(rng);
        const m = await trainer.step(crops, it);
        tf.dispose(crops);
        expect(Number.isFinite(m.loss)).toBe(true);
        if (it === 1) after2 = tf.memory().numTensors;
      }
      expect(tf.memory().numTensors).toBe(after2);
      trainer.dispose();
    });
  }

  it('a convnet backbone: BatchNorm statistics are in the state, start equal, and the teacher advances its own', async () => {
    const trainer = new DinoTrainer(tinyConfig({
      backbone: { factory: ({ seed }) => new ResNet({ layers: [1, 1, 1, 1], width: 4, smallInput: true, seed }) },
    }));
    const before = await snapshot(trainer);
    const key = 'backbone.bn1.running_mean';
    expect(before.has(`student.${key}`) && before.has(`teacher.${key}`)).toBe(true);
    expect(Array.from(before.get(`teacher.${key}`)!)).toEqual(Array.from(before.get(`student.${key}`)!));
    const crops = tinyCrops(new Rng(4));
    await trainer.step(crops, 0);
    tf.dispose(crops);
    const after = await snapshot(trainer);
    // Both ran BatchNorm in train mode (the reference's teacher is never put in eval mode), on
    // different inputs (the teacher sees the global crops only), so the statistics moved apart.
    for (const who of ['student', 'teacher']) expect(after.get(`${who}.${key}`)).not.toEqual(before.get(`${who}.${key}`));
    expect(after.get(`teacher.${key}`)).not.toEqual(after.get(`student.${key}`));
    trainer.dispose();
  });

  it('reports the scheduled values and monitoring numbers', async () => {
    const trainer = new DinoTrainer(tinyConfig({ loss: { warmupTeacherTemp: 0.02, teacherTemp: 0.06, warmupTeacherTempEpochs: 2 } }));
    const crops = tinyCrops(new Rng(2));
    const m = await trainer.step(crops, 4);
    expect(m.epoch).toBe(1);
    expect(m.lr).toBe(trainer.lrSchedule[4]);
    expect(m.wd).toBe(trainer.wdSchedule[4]);
    expect(m.momentum).toBe(trainer.momentumSchedule[4]);
    expect(m.teacherTemp).toBe(0.06);
    expect(m.teacherEntropy).toBeGreaterThan(0);
    expect(m.teacherEntropy).toBeLessThanOrEqual(Math.log(16) + 1e-5);
    expect(m.kl).toBeCloseTo(m.loss - m.teacherEntropy, 6);
    expect(m.kl).toBeGreaterThan(-1e-5);
    tf.dispose(crops);
    trainer.dispose();
  });

  it('a non-finite loss throws and changes nothing', async () => {
    const trainer = new DinoTrainer(tinyConfig({ head: { useBn: true } }));
    const rng = new Rng(3);
    const crops = tinyCrops(rng);
    await trainer.step(crops, 0);
    const before = await snapshot(trainer);
    const bad = tinyCrops(rng);
    bad[2] = tf.fill([2, 4, 4, 3], NaN) as tf.Tensor4D;
    const tensorsBefore = tf.memory().numTensors;
    await expect(trainer.step(bad, 1)).rejects.toThrow(NonFiniteLossError);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expectSameState(before, await snapshot(trainer));
    tf.dispose([...crops, ...bad]);
    trainer.dispose();
  });

  it('a restored state continues exactly like the original run', async () => {
    const rng = new Rng(4);
    const a = new DinoTrainer(tinyConfig());
    for (let it = 0; it < 4; it++) {
      const crops = tinyCrops(rng);
      await a.step(crops, it);
      tf.dispose(crops);
    }
    const state = await a.getState();
    const decoded = decodeSafetensors(encodeSafetensors(state.tensors, state.metadata));
    const b = new DinoTrainer(tinyConfig({ seed: 99 }));
    b.loadState(decoded);
    expectSameState(await snapshot(a), await snapshot(b));
    // Step 4 is in epoch 1: the last layer trains, AdamW starts its state; drop path draws from
    // the restored generator.
    const crops = tinyCrops(rng);
    const ma = await a.step(crops, 4);
    const mb = await b.step(crops, 4);
    expect(mb.loss).toBe(ma.loss);
    expectSameState(await snapshot(a), await snapshot(b));
    const { 'student.head.last_layer.weight_v': _drop, ...missing } = decoded.tensors;
    expect(() => b.loadState({ tensors: missing, metadata: decoded.metadata })).toThrow(ShapeError);
    tf.dispose(crops);
    a.dispose();
    b.dispose();
  });

  it('keeps the last layer frozen during the first freezeLastLayer epochs', async () => {
    const trainer = new DinoTrainer(tinyConfig({ optim: { freezeLastLayer: 1 } }));
    const v0 = trainer.student.params().get('head.last_layer.weight_v')!.dataSync().slice();
    const w0 = trainer.student.params().get('head.mlp.0.weight')!.dataSync().slice();
    const rng = new Rng(5);
    for (let it = 1; it < 3; it++) {
      const crops = tinyCrops(rng);
      await trainer.step(crops, it);
      tf.dispose(crops);
    }
    expect(Array.from(trainer.student.params().get('head.last_layer.weight_v')!.dataSync())).toEqual(Array.from(v0));
    expect(Array.from(trainer.student.params().get('head.mlp.0.weight')!.dataSync())).not.toEqual(Array.from(w0));
    expect(trainer.optimizer.stepCount('head.last_layer.weight_v')).toBe(0);
    const crops = tinyCrops(rng);
    await trainer.step(crops, 3);
    expect(Array.from(trainer.student.params().get('head.last_layer.weight_v')!.dataSync())).not.toEqual(Array.from(v0));
    tf.dispose(crops);
    trainer.dispose();
  });

  it('rejects crops of the wrong number or shape', async () => {
    const trainer = new DinoTrainer(tinyConfig());
    const crops = tinyCrops(new Rng(6));
    await expect(trainer.step(crops.slice(0, 1), 0)).rejects.toThrow(/crops/);
    await expect(trainer.step(crops.slice(0, 3), 0)).rejects.toThrow(ConfigError);
    await expect(trainer.step([crops[0], crops[2], crops[2], crops[3]], 0)).rejects.toThrow(ShapeError);
    await expect(trainer.step(crops, 12)).rejects.toThrow(/iteration/);
    tf.dispose(crops);
    trainer.dispose();
  });
});

it('validates its configuration, naming the parameter', () => {
  const cases: Array<[string, Partial<DinoTrainerConfig>]> = [
    ['loss.teacherTemp', { loss: { teacherTemp: 0 } }],
    ['loss.warmupTeacherTemp', { loss: { warmupTeacherTemp: -1 } }],
    ['loss.studentTemp', { loss: { studentTemp: 0 } }],
    ['head.outDim', { head: { outDim: 0 } }],
    ['itersPerEpoch', { itersPerEpoch: 0 }],
    ['multicrop.localCropsNumber', { multicrop: { localCropsNumber: -1 } }],
    ['optim.momentumTeacher', { optim: { momentumTeacher: 1.2 } }],
    ['loss.centerMomentum', { loss: { centerMomentum: -0.5 } }],
    ['optim.warmupEpochs', { optim: { warmupEpochs: 5 } }],
    ['backbone.dropPathRate', { backbone: { dropPathRate: 1 } }],
    ['backward', { backward: 'sideways' as never }],
    ['backward', { head: { useBn: true }, backward: 'perView' }],
    ['optim.clipGrad', { optim: { clipGrad: -1 } }],
  ];
  for (const [param, patch] of cases) {
    let err: unknown;
    try {
      new DinoTrainer(tinyConfig(patch)).dispose();
    } catch (e) {
      err = e;
    }
    expect(err, param).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).param).toBe(param);
  }
});
