import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  withConfigPrefix,
  ShapeError,
  copyParams,
  loadParams,
  paramsToArrays,
  type NamedArray,
  type Params,
} from '@dino-ts/core';
import { createBackbone, type Backbone } from '@dino-ts/backbones';
import { DinoHead } from '@dino-ts/head';
import { resolveTrainerConfig, type DinoTrainerConfig, type ResolvedDinoTrainerConfig, type BackboneRequest } from './config';
import { CosineSchedule } from './schedules';
import { DinoLoss } from './loss';
import { AdamW } from './adamw';
import { gradientNorms, applyGradientClip, cancelGradientsLastLayer } from './clip';
import { emaUpdate } from './ema';
import { MultiCropNetwork, groupCropsByResolution, type CropGroup } from './multicrop';
import { namedGrads, accumulateGrads, disposeGrads, type Grads } from './grads';

/** What one training step reports, as plain numbers. */
export interface DinoStepMetrics {
  iteration: number;
  epoch: number;
  /** The DINO loss of this step (before the update). */
  loss: number;
  /** Mean entropy of the teacher's targets (nats); near 0 means one prototype dominates. */
  teacherEntropy: number;
  /** Mean KL(teacher || student) over the loss terms; loss = teacherEntropy + kl. */
  kl: number;
  lr: number;
  wd: number;
  /** Teacher EMA momentum used after this step. */
  momentum: number;
  teacherTemp: number;
}

/** Thrown when a step's loss is NaN or infinite; the step changed nothing. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly loss: number,
    readonly iteration: number,
  ) {
    super(`DINO loss is ${loss} at iteration ${iteration}: training stopped, parameters, optimizer and center unchanged.`);
    this.name = 'NonFiniteLossError';
  }
}

/** Metadata key of the checkpoint format. */
const STATE_FORMAT = 'dino-ts/trainer-state@1';

/** A checkpoint of the trainer: named arrays (for safetensors) and string metadata. */
export interface DinoTrainerState {
  /**
   * `student.<name>`, `teacher.<name>` (parameters and head buffers, reference state-dict
   * names), `optimizer.<name>.exp_avg|exp_avg_sq|step`, `dino_loss.center`.
   */
  tensors: Record<string, NamedArray>;
  /** `format`, `config` (JSON, informational) and `rng` (drop-path generator state, JSON). */
  metadata: Record<string, string>;
}

/**
 * A DINO training run (reference main_dino.py): the student (backbone + head), the teacher (a
 * copy, no drop path, updated only by EMA), the loss with its center, AdamW with the reference's
 * parameter groups, and the lr / weight-decay / momentum schedules. `step` is one iteration of
 * train_one_epoch.
 *
 * Memory: the student's gradient is computed one resolution group of crops at a time by default
 * (`backward: 'perGroup'`, in passes of at most `microBatch` rows), which gives exactly the joint
 * gradient (the targets are constants) with the activations of one pass alive instead of all of
 * them: what lets large batches fit the wasm heap ('perView' keeps even less alive).
 *
 * @example
 * ```ts
 * const trainer = new DinoTrainer({
 *   backbone: { arch: 'vit', options: { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 192, depth: 6, numHeads: 3 } },
 *   head: { outDim: 4096 }, multicrop: { localCropsNumber: 6 },
 *   epochs: 100, itersPerEpoch: 900, batchSize: 64,
 * });
 * for (let it = 0; it < trainer.totalIterations; it++) {
 *   // crops: [g1, g2, ...locals], NHWC tensors from the augmentation
 *   const metrics = await trainer.step(crops, it);
 * }
 * const features = trainer.teacher.backbone.forward(images);   // evaluate with the teacher
 * ```
 */
export class DinoTrainer {
  readonly config: ResolvedDinoTrainerConfig;
  readonly student: MultiCropNetwork;
  readonly teacher: MultiCropNetwork;
  /** Convnet teachers run BatchNorm in train mode, as the reference's teacher does. */
  private readonly teacherBackboneTrains: boolean;
  readonly dinoLoss: DinoLoss;
  readonly optimizer: AdamW;
  /**
   * The lr / weight-decay / momentum schedules (reference utils.cosine_scheduler), computed per
   * iteration: a step reads one value of each, so a run configured for any number of epochs costs
   * no memory for them. `lrSchedule` and its siblings give the whole arrays on first use.
   */
  private readonly schedules: { lr: CosineSchedule; wd: CosineSchedule; momentum: CosineSchedule };
  private scheduleArrays?: { lr: Float64Array; wd: Float64Array; momentum: Float64Array };
  private readonly rng: Rng;
  private readonly studentParams: Params;
  private readonly teacherParams: Params;

  constructor(config: DinoTrainerConfig) {
    const c = resolveTrainerConfig(config);
    const { backbone, optim } = c;
    const make = (request: BackboneRequest): Backbone =>
      backbone.factory ? backbone.factory(request) : createBackbone(backbone.arch, { ...backbone.options, dropPathRate: request.dropPathRate, seed: request.seed });
    // The head's settings go to DinoHead as given: it fills its defaults and checks them.
    const head = (inDim: number) => withConfigPrefix('head.', () => new DinoHead({ ...c.head, inDim, seed: c.seed }));
    const studentBackbone = make({ role: 'student', dropPathRate: backbone.dropPathRate, seed: c.seed });
    this.student = new MultiCropNetwork(studentBackbone, head(studentBackbone.embedDim));
    const teacherBackbone = make({ role: 'teacher', dropPathRate: 0, seed: c.seed });
    // The reference builds the teacher head with the default norm_last_layer; the flag only
    // decides requires_grad, and the teacher is never trained.
    this.teacher = new MultiCropNetwork(teacherBackbone, head(teacherBackbone.embedDim));
    const useBn = this.student.head.config.useBn;
    c.backward ??= useBn ? 'joint' : 'perGroup';
    if (useBn && c.backward !== 'joint') {
      throw new ConfigError('backward', c.backward, "must be 'joint' with a BatchNorm head (head.useBn): BatchNorm statistics couple all crops");
    }
    this.config = c;
    this.studentParams = this.student.params();
    this.teacherParams = this.teacher.params();
    // Teacher and student start with the same weights (and BatchNorm buffers).
    copyParams(this.teacherParams, this.studentParams);
    copyParams(this.teacher.buffers(), this.student.buffers());
    this.teacherBackboneTrains = (teacherBackbone.buffers?.().size ?? 0) > 0;

    this.dinoLoss = new DinoLoss({ ...c.loss, outDim: this.student.head.config.outDim, ncrops: 2 + c.multicrop.localCropsNumber, nepochs: c.epochs });
    this.optimizer = new AdamW(this.studentParams);
    this.schedules = {
      lr: new CosineSchedule((optim.lr * c.batchSize) / 256, optim.minLr, c.epochs, c.itersPerEpoch, optim.warmupEpochs),
      wd: new CosineSchedule(optim.weightDecay, optim.weightDecayEnd, c.epochs, c.itersPerEpoch),
      momentum: new CosineSchedule(optim.momentumTeacher, 1, c.epochs, c.itersPerEpoch),
    };
    this.rng = c.rng ?? new Rng(c.seed).fork();
  }

  /** epochs * itersPerEpoch. */
  get totalIterations(): number {
    return this.schedules.lr.length;
  }

  /** The learning rate of every iteration (computed on first use: epochs * itersPerEpoch values). */
  get lrSchedule(): Float64Array {
    return this.allSchedules().lr;
  }

  /** The weight decay of every iteration (computed on first use). */
  get wdSchedule(): Float64Array {
    return this.allSchedules().wd;
  }

  /** The teacher momentum of every iteration (computed on first use). */
  get momentumSchedule(): Float64Array {
    return this.allSchedules().momentum;
  }

  private allSchedules(): { lr: Float64Array; wd: Float64Array; momentum: Float64Array } {
    const whole = (s: CosineSchedule) => Float64Array.from({ length: s.length }, (_, i) => s.at(i));
    this.scheduleArrays ??= { lr: whole(this.schedules.lr), wd: whole(this.schedules.wd), momentum: whole(this.schedules.momentum) };
    return this.scheduleArrays;
  }


  /** Number of crops a step takes: 2 global + localCropsNumber. */
  get ncrops(): number {
    return this.dinoLoss.ncrops;
  }

  /**
   * One training iteration (reference train_one_epoch body): teacher on the 2 global crops,
   * student on all crops, loss, backward, per-tensor clipping, last-layer freezing in the first
   * `freezeLastLayer` epochs, AdamW with the scheduled lr / weight decay, EMA teacher update with
   * the scheduled momentum, center update. A non-finite loss throws NonFiniteLossError and
   * changes nothing.
   *
   * @param crops NHWC crops [B, H, W, C]: crops[0], crops[1] the global views, then the local ones.
   * @param iteration Global iteration (epoch * itersPerEpoch + i), indexes the schedules.
   * @param epoch Epoch (teacher temperature, last-layer freezing); default iteration / itersPerEpoch.
   */
  async step(crops: tf.Tensor4D[], iteration: number, epoch = Math.floor(iteration / this.config.itersPerEpoch)): Promise<DinoStepMetrics> {
    this.checkCrops(crops);
    const lr = this.schedules.lr.at(iteration);
    const wd = this.schedules.wd.at(iteration);
    const momentum = this.schedules.momentum.at(iteration);
    const teacherTemp = this.dinoLoss.teacherTemp(epoch);

    // Things a failed step must put back: BatchNorm running stats and the drop-path generator.
    const rngState = this.rng.getState();
    const bufferBackup = this.backupBuffers();
    let pass: ReturnType<DinoTrainer['forwardBackward']>;
    try {
      pass = this.forwardBackward(crops, epoch);
    } catch (e) {
      disposeBackup(bufferBackup);
      throw e;
    }
    const { teacherOut, targets, entropy, lossSum, grads } = pass;
    // The gradient norms for clipping are read with the loss: one asynchronous read-back a step,
    // never a synchronous one (a GPU backend cannot read synchronously in Node).
    const clip = this.config.optim.clipGrad;
    const norms = clip > 0 ? gradientNorms(grads) : null;
    try {
      const [loss, teacherEntropy, normValues] = await Promise.all([lossSum.data(), entropy.data(), norms ? norms.data() : null]);
      if (!Number.isFinite(loss[0])) {
        this.restoreBuffers(bufferBackup);
        this.rng.setState(rngState);
        throw new NonFiniteLossError(loss[0], iteration);
      }
      if (normValues) applyGradientClip(grads, normValues, clip);
      cancelGradientsLastLayer(epoch, grads, this.config.optim.freezeLastLayer);
      this.optimizer.step(grads, { lr, weightDecay: wd });
      emaUpdate(this.teacherParams, this.studentParams, momentum);
      this.dinoLoss.updateCenter(teacherOut);
      return {
        iteration,
        epoch,
        loss: loss[0],
        teacherEntropy: teacherEntropy[0],
        kl: loss[0] - teacherEntropy[0],
        lr,
        wd,
        momentum,
        teacherTemp,
      };
    } finally {
      disposeGrads(grads);
      for (const t of [lossSum, teacherOut, targets, entropy]) t.dispose();
      norms?.dispose();
      disposeBackup(bufferBackup);
    }
  }

  /**
   * The loss and the student's gradients (by parameter name, before clipping) for these crops,
   * changing nothing: for gradient checks or a custom update. The caller disposes the gradients.
   * BatchNorm running statistics, if any, do advance (as any training-mode forward).
   */
  async computeGradients(crops: tf.Tensor4D[], epoch: number): Promise<{ loss: number; grads: Grads }> {
    this.checkCrops(crops);
    const { teacherOut, targets, entropy, lossSum, grads } = this.forwardBackward(crops, epoch);
    try {
      return { loss: (await lossSum.data())[0], grads };
    } finally {
      for (const t of [lossSum, teacherOut, targets, entropy]) t.dispose();
    }
  }

  /**
   * Teacher on the 2 global crops, then the student's loss and gradients, accumulated over the
   * backward chunks (see BackwardMode). Returns tensors the caller owns.
   */
  private forwardBackward(crops: tf.Tensor4D[], epoch: number) {
    const nTerms = this.dinoLoss.nLossTerms;
    const teacherOut = tf.tidy(() =>
      // The reference keeps its teacher in train mode: no drop path (rate 0), but BatchNorm
      // (a convnet backbone's, a BatchNorm head's over all rows) normalises with batch statistics
      // and advances the teacher's own running statistics. A ViT's train mode differs only by
      // drop path, so it runs in eval mode.
      this.teacher.apply(crops.slice(0, 2), {
        training: this.teacherBackboneTrains,
        headTraining: this.student.head.config.useBn,
        maxImagesPerPass: this.config.microBatch,
      }),
    );
    const targets = this.dinoLoss.teacherTargets(teacherOut, epoch);
    const entropy = this.dinoLoss.teacherEntropy(teacherOut, epoch);
    const grads: Grads = new Map();
    let lossSum: tf.Scalar = tf.scalar(0);
    const b = crops[0].shape[0];
    const rowsPerPass = this.config.backward === 'joint' || this.config.microBatch === 0 ? b : this.config.microBatch;
    try {
      for (const { start, end } of this.backwardChunks(crops)) {
        const views = Array.from({ length: end - start }, (_, i) => start + i);
        for (let r0 = 0; r0 < b; r0 += rowsPerPass) {
          const r1 = Math.min(b, r0 + rowsPerPass);
          const { value, grads: g } = namedGrads(() => {
            const slice = crops.slice(start, end).map((c) => (r1 - r0 === b ? c : tf.slice(c, [r0, 0, 0, 0], [r1 - r0, -1, -1, -1])));
            const out = this.student.apply(slice, { training: true, rng: this.rng });
            return tf.div(this.dinoLoss.crossEntropyTerms(out, views, targets, [r0, r1]), nTerms) as tf.Scalar;
          }, this.studentParams);
          accumulateGrads(grads, g);
          const next = tf.add(lossSum, value) as tf.Scalar;
          lossSum.dispose();
          value.dispose();
          lossSum = next;
        }
      }
    } catch (e) {
      disposeGrads(grads);
      for (const t of [lossSum, teacherOut, targets, entropy]) t.dispose();
      throw e;
    }
    return { teacherOut, targets, entropy, lossSum, grads };
  }

  /**
   * Everything a resumed run needs, under the reference's checkpoint names (`student.`,
   * `teacher.`, `optimizer.`, `dino_loss.center`). Iteration and epoch are the caller's to keep.
   */
  async getState(): Promise<DinoTrainerState> {
    const tensors: Record<string, NamedArray> = {};
    const put = (prefix: string, arrays: Record<string, NamedArray>) => {
      for (const [k, v] of Object.entries(arrays)) tensors[`${prefix}.${k}`] = v;
    };
    put('student', await paramsToArrays(this.studentParams));
    put('student', await paramsToArrays(this.student.buffers()));
    put('teacher', await paramsToArrays(this.teacherParams));
    put('teacher', await paramsToArrays(this.teacher.buffers()));
    put('optimizer', await this.optimizer.getState());
    put('dino_loss', await this.dinoLoss.getState());
    const { rng: _r, ...rest } = this.config;
    const config = { ...rest, backbone: { ...rest.backbone, factory: undefined } };
    return {
      tensors,
      metadata: { format: STATE_FORMAT, config: JSON.stringify(config), rng: JSON.stringify(this.rng.getState()) },
    };
  }

  /** Restores `getState()` output (names and shapes checked strictly). */
  loadState(state: DinoTrainerState): void {
    if (state.metadata?.format !== undefined && state.metadata.format !== STATE_FORMAT) {
      throw new ConfigError('state.metadata.format', state.metadata.format, `must be "${STATE_FORMAT}"`);
    }
    const take = (prefix: string): Record<string, NamedArray> => {
      const out: Record<string, NamedArray> = {};
      for (const [k, v] of Object.entries(state.tensors)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
      return out;
    };
    const known = ['student.', 'teacher.', 'optimizer.', 'dino_loss.'];
    const stray = Object.keys(state.tensors).filter((k) => !known.some((p) => k.startsWith(p)));
    if (stray.length) throw new ShapeError(`DinoTrainer.loadState: unexpected keys ${stray.slice(0, 5).join(', ')}`);
    const student = take('student');
    const teacher = take('teacher');
    loadParams(new Map([...this.studentParams, ...this.student.buffers()]), student, { source: 'student state' });
    loadParams(new Map([...this.teacherParams, ...this.teacher.buffers()]), teacher, { source: 'teacher state' });
    this.optimizer.loadState(take('optimizer'));
    this.dinoLoss.loadState(take('dino_loss'));
    if (state.metadata?.rng) this.rng.setState(JSON.parse(state.metadata.rng));
  }

  dispose(): void {
    this.student.dispose();
    this.teacher.dispose();
    this.dinoLoss.dispose();
    this.optimizer.dispose();
  }

  private backwardChunks(crops: tf.Tensor4D[]): CropGroup[] {
    switch (this.config.backward) {
      case 'joint':
        return [{ start: 0, end: crops.length }];
      case 'perGroup':
        return groupCropsByResolution(crops);
      default:
        return crops.map((_, i) => ({ start: i, end: i + 1 }));
    }
  }

  private checkCrops(crops: tf.Tensor4D[]): void {
    if (!Array.isArray(crops) || crops.length < 2) {
      throw new ConfigError('crops', Array.isArray(crops) ? `${crops.length} crops` : crops, 'must hold at least the 2 global crops');
    }
    if (crops.length !== this.ncrops) {
      throw new ConfigError('crops', `${crops.length} crops`, `must hold 2 global + localCropsNumber (${this.config.multicrop.localCropsNumber}) = ${this.ncrops} crops`);
    }
    const b = crops[0].shape[0];
    const inChans = this.student.backbone.inChans;
    crops.forEach((c, i) => {
      if (!(c instanceof tf.Tensor) || c.rank !== 4 || c.shape[0] !== b || c.shape[3] !== inChans) {
        throw new ShapeError(`DinoTrainer.step: crops[${i}] must be NHWC [${b}, H, W, ${inChans}], got [${c?.shape}]`);
      }
    });
    if (crops[0].shape[1] !== crops[1].shape[1] || crops[0].shape[2] !== crops[1].shape[2]) {
      throw new ShapeError(`DinoTrainer.step: the 2 global crops differ in size: [${crops[0].shape}] vs [${crops[1].shape}]`);
    }
  }

  private backupBuffers(): Map<tf.Variable, tf.Tensor> {
    const backup = new Map<tf.Variable, tf.Tensor>();
    for (const net of [this.student, this.teacher]) for (const v of net.buffers().values()) backup.set(v, tf.clone(v));
    return backup;
  }

  private restoreBuffers(backup: Map<tf.Variable, tf.Tensor>): void {
    for (const [v, t] of backup) v.assign(t);
  }
}

function disposeBackup(backup: Map<tf.Variable, tf.Tensor>): void {
  for (const t of backup.values()) t.dispose();
}
