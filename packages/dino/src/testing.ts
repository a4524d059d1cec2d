/**
 * Test helpers for trainers built from the PyTorch reference's fixtures (scripts/fixtures/
 * make_dino.py, make_resume.py): the fixture's tiny ViT and head, and its training settings in
 * the trainer's groups, and the fixtures' weights and crops. Used by this package's parity tests,
 * by @dino-ts/weights' resume tests and by the trainer's webgpu parity tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadParams, type NamedArray } from '@dino-ts/core';
import { VisionTransformer } from '@dino-ts/backbones';
import { DinoTrainer } from './trainer';
import type { DinoTrainerConfig } from './config';

/** The reference's train_one_epoch settings as a fixture stores them (snake_case). */
export interface ReferenceTrainSettings {
  lr: number;
  min_lr: number;
  epochs: number;
  niter_per_ep: number;
  warmup_epochs: number;
  weight_decay: number;
  weight_decay_end: number;
  momentum_teacher: number;
  clip_grad: number;
  freeze_last_layer: number;
  warmup_teacher_temp: number;
  teacher_temp: number;
  warmup_teacher_temp_epochs: number;
}

/** The fixture's schedules and optimiser in the trainer's groups. */
export function referenceTrainSettings(t: ReferenceTrainSettings): Partial<DinoTrainerConfig> {
  return {
    epochs: t.epochs,
    itersPerEpoch: t.niter_per_ep,
    optim: {
      lr: t.lr, minLr: t.min_lr, warmupEpochs: t.warmup_epochs, weightDecay: t.weight_decay, weightDecayEnd: t.weight_decay_end,
      momentumTeacher: t.momentum_teacher, clipGrad: t.clip_grad, freezeLastLayer: t.freeze_last_layer,
    },
    loss: { warmupTeacherTemp: t.warmup_teacher_temp, teacherTemp: t.teacher_temp, warmupTeacherTempEpochs: t.warmup_teacher_temp_epochs },
  };
}

/** The trainer of a fixture: its tiny ViT and head (sizes from its metadata), `extra` on top. */
export function referenceFixtureTrainer(meta: Record<string, string>, extra: Partial<DinoTrainerConfig> = {}): DinoTrainer {
  const vit = JSON.parse(meta.vit);
  const head = JSON.parse(meta.head);
  return new DinoTrainer({
    backbone: {
      factory: ({ dropPathRate, seed }) =>
        new VisionTransformer({
          imgSize: vit.img_size[0], patchSize: vit.patch_size, embedDim: vit.embed_dim, depth: vit.depth,
          numHeads: vit.num_heads, mlpRatio: vit.mlp_ratio, qkvBias: vit.qkv_bias, dropPathRate, seed,
        }),
      dropPathRate: 0,
    },
    head: { outDim: head.out_dim, hiddenDim: head.hidden_dim, bottleneckDim: head.bottleneck_dim },
    multicrop: { localCropsNumber: Number(meta.local_crops) },
    batchSize: Number(meta.batch),
    itersPerEpoch: 1,
    epochs: 1,
    ...extra,
  });
}

/** The tensors of a fixture whose names start with `prefix`, the prefix removed. */
export function fixtureSubset(tensors: Record<string, NamedArray>, prefix: string): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/** Loads the fixture's `init.*` weights into the student and the teacher. */
export function loadFixtureInit(trainer: DinoTrainer, tensors: Record<string, NamedArray>): void {
  const init = fixtureSubset(tensors, 'init.');
  loadParams(trainer.student.params(), init, { source: 'student init' });
  loadParams(trainer.teacher.params(), init, { source: 'teacher init' });
}

/** The fixture's crops `<prefix>crop0..n-1` as NHWC tensors (the caller disposes them). */
export function fixtureCrops(tensors: Record<string, NamedArray>, prefix: string, n: number): tf.Tensor4D[] {
  return Array.from({ length: n }, (_, i) => {
    const a = tensors[`${prefix}crop${i}`];
    return tf.tensor4d(a.data as Float32Array, a.shape as [number, number, number, number]);
  });
}
