import { ConfigError, checkChoice, checkInt, checkNumber, type Rng } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import { DINO_HEAD_DEFAULTS } from '@dino-ts/head';
import { DINO_DEFAULTS, TRAINER_DEFAULTS } from './defaults';

/**
 * How the student's gradient is computed. The teacher's targets are constants for the student,
 * so the loss splits into per-view sums whose gradients add up to exactly the joint gradient:
 * - 'perView': one forward + backward per crop (least memory: only one view's activations live);
 * - 'perGroup': one per resolution group (the reference's backbone batches);
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

/**
 * Configuration of a DINO training run: the reference's main_dino.py arguments in camelCase
 * (defaults in DINO_DEFAULTS), plus the run's length in iterations and the head's sizes.
 */
export interface DinoTrainerConfig {
  /** Iterations per epoch (the reference's len(data_loader)). Required. */
  itersPerEpoch: number;
  /** Backbone registry name for `createBackbone` (default 'vit_small'). */
  arch?: string;
  /** Options for `createBackbone(arch, options)` (patchSize, imgSize, inChans, ...). */
  backboneOptions?: Record<string, unknown>;
  /** Builds the backbones instead of the registry (a user's own `Backbone`). */
  backboneFactory?: (request: BackboneRequest) => Backbone;
  outDim?: number;
  normLastLayer?: boolean;
  useBnInHead?: boolean;
  /** Head MLP sizes (reference DINOHead defaults: 3 layers, 2048 hidden, 256 bottleneck). */
  headNlayers?: number;
  headHiddenDim?: number;
  headBottleneckDim?: number;
  momentumTeacher?: number;
  warmupTeacherTemp?: number;
  teacherTemp?: number;
  warmupTeacherTempEpochs?: number;
  studentTemp?: number;
  centerMomentum?: number;
  weightDecay?: number;
  weightDecayEnd?: number;
  /** Per-tensor gradient clip; 0 disables. */
  clipGrad?: number;
  /** Images per step; the peak learning rate is lr * batchSize / 256. */
  batchSize?: number;
  epochs?: number;
  freezeLastLayer?: number;
  lr?: number;
  warmupEpochs?: number;
  minLr?: number;
  dropPathRate?: number;
  localCropsNumber?: number;
  seed?: number;
  /** Gradient computation; default 'perView', or 'joint' with a BatchNorm head. */
  backward?: BackwardMode;
  /**
   * Most batch rows per student forward / backward pass (per view) and per teacher backbone
   * pass; 0 = whole batch. Default TRAINER_DEFAULTS.microBatch. Ignored by the student in
   * 'joint' mode. Changes memory and speed, not the result.
   */
  microBatch?: number;
  /** Randomness of the student's drop path (default: seeded from `seed`). */
  rng?: Rng;
}

export type ResolvedDinoTrainerConfig = Required<Omit<DinoTrainerConfig, 'backboneFactory' | 'rng'>> &
  Pick<DinoTrainerConfig, 'backboneFactory' | 'rng'>;

/** Head sizes default to the head package's (the reference DINOHead), named as the trainer's fields. */
const HEAD_SIZES = {
  headNlayers: DINO_HEAD_DEFAULTS.nlayers,
  headHiddenDim: DINO_HEAD_DEFAULTS.hiddenDim,
  headBottleneckDim: DINO_HEAD_DEFAULTS.bottleneckDim,
} as const;

/** Fills in the defaults and validates every field, throwing ConfigError naming the field. */
export function resolveTrainerConfig(config: DinoTrainerConfig): ResolvedDinoTrainerConfig {
  if (config == null || typeof config !== 'object') throw new ConfigError('config', config, 'must be an object');
  const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const c = {
    ...DINO_DEFAULTS,
    ...HEAD_SIZES,
    ...TRAINER_DEFAULTS,
    backboneOptions: {},
    ...given,
  } as ResolvedDinoTrainerConfig;
  if (c.backward === undefined) c.backward = c.useBnInHead ? 'joint' : 'perView';
  checkInt('itersPerEpoch', c.itersPerEpoch, 1);
  checkInt('epochs', c.epochs, 1);
  checkInt('batchSize', c.batchSize, 1);
  checkInt('outDim', c.outDim, 1);
  checkInt('headNlayers', c.headNlayers, 1);
  checkInt('headHiddenDim', c.headHiddenDim, 1);
  checkInt('headBottleneckDim', c.headBottleneckDim, 1);
  checkInt('localCropsNumber', c.localCropsNumber, 0);
  checkInt('freezeLastLayer', c.freezeLastLayer, 0);
  checkInt('warmupEpochs', c.warmupEpochs, 0, c.epochs);
  checkInt('warmupTeacherTempEpochs', c.warmupTeacherTempEpochs, 0, c.epochs);
  checkInt('seed', c.seed, 0);
  checkInt('microBatch', c.microBatch, 0);
  checkNumber('teacherTemp', c.teacherTemp, { min: 0, minExclusive: true });
  checkNumber('warmupTeacherTemp', c.warmupTeacherTemp, { min: 0, minExclusive: true });
  checkNumber('studentTemp', c.studentTemp, { min: 0, minExclusive: true });
  checkNumber('centerMomentum', c.centerMomentum, { min: 0, max: 1 });
  checkNumber('momentumTeacher', c.momentumTeacher, { min: 0, max: 1 });
  checkNumber('lr', c.lr, { min: 0 });
  checkNumber('minLr', c.minLr, { min: 0 });
  checkNumber('weightDecay', c.weightDecay, { min: 0 });
  checkNumber('weightDecayEnd', c.weightDecayEnd, { min: 0 });
  checkNumber('clipGrad', c.clipGrad, { min: 0 });
  checkNumber('dropPathRate', c.dropPathRate, { min: 0, max: 1, maxExclusive: true });
  if (typeof c.normLastLayer !== 'boolean') throw new ConfigError('normLastLayer', c.normLastLayer, 'must be a boolean');
  if (typeof c.useBnInHead !== 'boolean') throw new ConfigError('useBnInHead', c.useBnInHead, 'must be a boolean');
  if (typeof c.arch !== 'string' || c.arch.length === 0) throw new ConfigError('arch', c.arch, 'must be a backbone registry name');
  if (c.backboneFactory !== undefined && typeof c.backboneFactory !== 'function') {
    throw new ConfigError('backboneFactory', c.backboneFactory, 'must be a function (request) => Backbone');
  }
  checkChoice('backward', c.backward, BACKWARD_MODES);
  if (c.useBnInHead && c.backward !== 'joint') {
    throw new ConfigError('backward', c.backward, "must be 'joint' with useBnInHead: BatchNorm statistics couple all crops");
  }
  return c;
}
