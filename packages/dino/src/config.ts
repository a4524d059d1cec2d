/**
 * The DINO trainer's configuration: nested the way the method is (backbone, head, loss, optim,
 * multi-crop), each part declared once by the package whose code uses it and passed through
 * unchanged: `loss` goes to DinoLoss, `head` to DinoHead, `backbone` to the backbone registry.
 * The settings here are the ones the trainer itself uses (the optimiser and the teacher's
 * schedule, the run's length); the loss's are in loss.ts, the head's in @dino-ts/head.
 */
import { ConfigError, checkChoice, checkInt, resolveSettings, setting, type Rng, type SettingsInput, type SettingsOf } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import type { DinoHeadConfig } from '@dino-ts/head';
import { MULTICROP_SETTINGS } from '@dino-ts/augment';
import { DINO_LOSS_SETTINGS } from './loss';

/** The optimisation and the teacher's EMA (reference main_dino.py arguments, camelCase). */
export const DINO_OPTIM_SETTINGS = {
  lr: setting.number(0.0005, 'peak learning rate at batch 256 (scaled linearly with the batch size)', { min: 0, minExclusive: true }),
  minLr: setting.number(1e-6, 'final learning rate of the cosine schedule', { min: 0 }),
  warmupEpochs: setting.int(10, 'epochs of linear learning-rate warm-up', { min: 0 }),
  weightDecay: setting.number(0.04, 'initial weight decay (cosine schedule)', { min: 0 }),
  weightDecayEnd: setting.number(0.4, 'final weight decay', { min: 0 }),
  clipGrad: setting.number(3.0, 'per-parameter gradient norm clip (0 disables)', { min: 0 }),
  freezeLastLayer: setting.int(1, "epochs during which the head's last layer is frozen", { min: 0 }),
  momentumTeacher: setting.number(0.996, 'base EMA momentum of the teacher, raised to 1 with a cosine schedule', { min: 0, max: 1 }),
} as const;

/** The run: its length, batch and seed, and how the step uses memory. */
export const DINO_RUN_SETTINGS = {
  epochs: setting.int(100, 'number of epochs', { min: 1 }),
  batchSize: setting.int(64, 'images per iteration', { min: 1 }),
  seed: setting.int(0, 'random seed (weights, crops, order)', { min: 0 }),
  /**
   * Most batch rows per forward / backward pass of the student (per view) and per teacher
   * backbone pass; 0 = the whole batch. Bounds the activations alive at once (the wasm heap has
   * 32-bit addresses); the summed gradient is exactly the whole-batch one.
   */
  microBatch: setting.int(16, 'most batch rows per forward/backward pass (0: the whole batch); changes memory and speed, not results', { min: 0 }),
} as const;

/** The student backbone's options the trainer itself reads. */
export const DINO_BACKBONE_SETTINGS = {
  arch: setting.string('vit_small', 'backbone registry name'),
  dropPathRate: setting.number(0.1, 'stochastic depth rate of the student', { min: 0, max: 1, maxExclusive: true }),
} as const;

/**
 * How the student's gradient is computed. The teacher's targets are constants for the student,
 * so the loss splits into per-view sums whose gradients add up to exactly the joint gradient:
 * - 'perView': one forward + backward per crop (least memory: only one view's activations live);
 * - 'perGroup': one per resolution group (the reference's backbone batches); the default without
 *   a BatchNorm head: a third of perView's passes with 2 + 6 crops, so larger matrix products and
 *   fewer gradient sums (measured: the fashion-mnist preset 1.3x faster), while microBatch still
 *   bounds the rows of each pass;
 * - 'joint': one graph over all crops, as the reference. Required with a BatchNorm head, whose
 *   batch statistics couple all crops.
 */
export type BackwardMode = 'perView' | 'perGroup' | 'joint';
export const BACKWARD_MODES: readonly BackwardMode[] = ['perView', 'perGroup', 'joint'];

/** What a custom backbone factory is asked for. */
export interface BackboneRequest {
  role: 'student' | 'teacher';
  /** Stochastic depth: the configured rate for the student, 0 for the teacher. */
  dropPathRate: number;
  seed: number;
}

/** Which backbone, built by the registry (`arch` + `options`) or by a factory of the user's. */
export interface BackboneSpec extends SettingsInput<typeof DINO_BACKBONE_SETTINGS> {
  /** Options for `createBackbone(arch, options)` (patchSize, imgSize, inChans, ...). */
  options?: Record<string, unknown>;
  /** Builds the backbones instead of the registry (a user's own `Backbone`). */
  factory?: (request: BackboneRequest) => Backbone;
}

/**
 * Configuration of a DINO training run: the reference's main_dino.py arguments in camelCase,
 * grouped as the method is. Only `itersPerEpoch` is required, and `head.outDim` has the
 * reference default of 65536.
 *
 * @example
 * const config: DinoTrainerConfig = {
 *   itersPerEpoch: 100, epochs: 10, batchSize: 32,
 *   backbone: { arch: 'vit', options: { imgSize: 32, patchSize: 4, embedDim: 64, depth: 4, numHeads: 4 } },
 *   head: { outDim: 256, hiddenDim: 256, bottleneckDim: 64 },
 *   loss: { teacherTemp: 0.04 },
 *   optim: { lr: 0.004 },
 *   multicrop: { localCropsNumber: 4 },
 * };
 */
export interface DinoTrainerConfig extends SettingsInput<typeof DINO_RUN_SETTINGS> {
  /** Iterations per epoch (the reference's len(data_loader)). */
  itersPerEpoch: number;
  backbone?: BackboneSpec;
  /** The projection head, as `new DinoHead` takes it (its `inDim` is the backbone's width). */
  head?: Partial<Omit<DinoHeadConfig, 'inDim'>>;
  loss?: SettingsInput<typeof DINO_LOSS_SETTINGS>;
  optim?: SettingsInput<typeof DINO_OPTIM_SETTINGS>;
  /**
   * The multi-crop settings (@dino-ts/augment's): pass the object the augmentation is built
   * from, so the number of crops the trainer expects is the number the augmentation makes.
   */
  multicrop?: SettingsInput<typeof MULTICROP_SETTINGS>;
  /** Gradient computation; default 'perGroup', or 'joint' with a BatchNorm head. */
  backward?: BackwardMode;
  /** Randomness of the student's drop path (default: seeded from `seed`). */
  rng?: Rng;
}

export interface ResolvedDinoTrainerConfig extends SettingsOf<typeof DINO_RUN_SETTINGS> {
  itersPerEpoch: number;
  backbone: SettingsOf<typeof DINO_BACKBONE_SETTINGS> & Pick<BackboneSpec, 'factory'> & { options: Record<string, unknown> };
  head: Partial<Omit<DinoHeadConfig, 'inDim'>>;
  loss: SettingsOf<typeof DINO_LOSS_SETTINGS>;
  optim: SettingsOf<typeof DINO_OPTIM_SETTINGS>;
  multicrop: SettingsOf<typeof MULTICROP_SETTINGS>;
  /** Absent until the head is built: its default follows the head's BatchNorm. */
  backward?: BackwardMode;
  rng?: Rng;
}

/**
 * Fills in the defaults and validates every setting the trainer reads, throwing a ConfigError
 * naming the setting (`optim.lr`). The head's settings are the head's to check.
 */
export function resolveTrainerConfig(config: DinoTrainerConfig): ResolvedDinoTrainerConfig {
  if (config == null || typeof config !== 'object') throw new ConfigError('config', config, 'must be an object');
  const { itersPerEpoch, backbone = {}, head = {}, loss, optim, multicrop = {}, backward, rng, ...run } = config;
  checkInt('itersPerEpoch', itersPerEpoch, 1);
  const { options = {}, factory, ...backboneSettings } = backbone;
  if (factory !== undefined && typeof factory !== 'function') {
    throw new ConfigError('backbone.factory', factory, 'must be a function (request) => Backbone');
  }
  if (backward !== undefined) checkChoice('backward', backward, BACKWARD_MODES);
  const c: ResolvedDinoTrainerConfig = {
    ...resolveSettings(DINO_RUN_SETTINGS, run, ''),
    itersPerEpoch,
    backbone: { ...resolveSettings(DINO_BACKBONE_SETTINGS, backboneSettings, 'backbone.'), options, factory },
    head,
    loss: resolveSettings(DINO_LOSS_SETTINGS, loss, 'loss.'),
    optim: resolveSettings(DINO_OPTIM_SETTINGS, optim, 'optim.'),
    multicrop: resolveSettings(MULTICROP_SETTINGS, multicrop, 'multicrop.'),
    backward,
    rng,
  };
  // Rules across settings, each where both are known.
  checkInt('optim.warmupEpochs', c.optim.warmupEpochs, 0, c.epochs);
  checkInt('loss.warmupTeacherTempEpochs', c.loss.warmupTeacherTempEpochs, 0, c.epochs);
  return c;
}
