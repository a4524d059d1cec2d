import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, checkInt, resolveSettings, setting, variable, type NamedArray, type SettingsInput } from '@dino-ts/core';
import { linspace } from './schedules';

/**
 * The loss's settings (reference DINOLoss and main_dino.py's arguments): the teacher's
 * sharpening (its temperature and warm-up), the student's temperature, the centering momentum.
 */
export const DINO_LOSS_SETTINGS = {
  warmupTeacherTemp: setting.number(0.04, 'initial teacher temperature', { min: 0, minExclusive: true }),
  teacherTemp: setting.number(0.04, 'final teacher temperature (paper: 0.07 after warm-up)', { min: 0, minExclusive: true }),
  warmupTeacherTempEpochs: setting.int(0, 'epochs of linear teacher-temperature warm-up', { min: 0 }),
  studentTemp: setting.number(0.1, 'student temperature', { min: 0, minExclusive: true }),
  centerMomentum: setting.number(0.9, 'momentum of the center of the teacher output', { min: 0, max: 1 }),
} as const;

/**
 * Teacher temperature per epoch (reference DINOLoss.teacher_temp_schedule): linear from
 * `warmupTeacherTemp` to `teacherTemp` over `warmupTeacherTempEpochs` epochs, then constant.
 *
 * @example
 * ```ts
 * teacherTempSchedule(0.04, 0.07, 30, 100)[29];   // 0.07
 * ```
 */
export function teacherTempSchedule(warmupTeacherTemp: number, teacherTemp: number, warmupTeacherTempEpochs: number, nepochs: number): Float64Array {
  resolveSettings(DINO_LOSS_SETTINGS, { warmupTeacherTemp, teacherTemp, warmupTeacherTempEpochs });
  checkInt('nepochs', nepochs, 1);
  checkInt('warmupTeacherTempEpochs', warmupTeacherTempEpochs, 0, nepochs);
  const out = new Float64Array(nepochs).fill(teacherTemp);
  out.set(linspace(warmupTeacherTemp, teacherTemp, warmupTeacherTempEpochs));
  return out;
}

export interface DinoLossConfig extends SettingsInput<typeof DINO_LOSS_SETTINGS> {
  /** K, the number of prototypes. */
  outDim: number;
  /** Number of crops the student sees: 2 global + local crops. */
  ncrops: number;
  /** Epochs of training (length of the teacher-temperature schedule). */
  nepochs: number;
}

/** The loss value and the monitoring numbers of one evaluation. */
export interface DinoLossOutput {
  /** The DINO loss (mean cross-entropy over the loss terms), a scalar tensor. */
  loss: tf.Scalar;
  /** Mean entropy of the teacher's centred, sharpened distributions (nats). */
  teacherEntropy: tf.Scalar;
  /** Mean KL(teacher || student) over the same terms as the loss: loss - teacherEntropy. */
  kl: tf.Scalar;
  /** Number of (teacher view, student view) pairs averaged: 2 (ncrops - 1). */
  nLossTerms: number;
}

/**
 * The DINO objective (Caron et al. 2021, Eq. 3; reference `DINOLoss` in main_dino.py): the
 * teacher's distributions P_t = softmax((g_t - c) / tau_t) on the 2 global views are the targets
 * of the student's P_s = softmax(g_s / tau_s) on every other view; the loss is the mean over those
 * 2 (ncrops - 1) pairs of the batch-mean cross-entropy. The center c (a [1, K] buffer starting at
 * zero) is an EMA of the teacher's batch-mean logits, updated after the loss; tau_t follows a
 * per-epoch warm-up schedule.
 *
 * Student outputs are [ncrops * B, K] with the views stacked in crop order (as the multi-crop
 * forward produces them); teacher outputs are [2 * B, K] for the 2 global views.
 *
 * @example
 * ```ts
 * const dinoLoss = new DinoLoss({ outDim: 4096, ncrops: 10, nepochs: 100 });
 * const { loss } = dinoLoss.forward(studentOut, teacherOut, epoch);  // also updates the center
 * ```
 */
export class DinoLoss {
  readonly outDim: number;
  readonly ncrops: number;
  readonly studentTemp: number;
  readonly centerMomentum: number;
  /** Epochs of the run: `teacherTemp` answers for epochs 0 .. nepochs - 1. */
  readonly nepochs: number;
  /**
   * tau_t per epoch through the warm-up and one constant epoch after it (at most nepochs
   * entries): every later epoch has the last value, so a run of any length keeps a short array.
   */
  readonly teacherTempSchedule: Float64Array;
  /** c, [1, K]. */
  readonly center: tf.Variable;

  constructor(config: DinoLossConfig) {
    if (config == null || typeof config !== 'object') throw new ConfigError('config', config, 'must be an object with outDim, ncrops and nepochs');
    const { outDim, ncrops, nepochs, ...settings } = config;
    checkInt('outDim', outDim, 1);
    checkInt('ncrops', ncrops, 2);
    checkInt('nepochs', nepochs, 1);
    const c = resolveSettings(DINO_LOSS_SETTINGS, settings);
    // The warm-up's linspace ends one step short of teacherTemp (np.linspace(a, b, W) reaches b
    // only for W > 1), so one constant epoch is kept after it.
    this.teacherTempSchedule = teacherTempSchedule(c.warmupTeacherTemp, c.teacherTemp, c.warmupTeacherTempEpochs, Math.min(nepochs, c.warmupTeacherTempEpochs + 1));
    this.nepochs = nepochs;
    this.outDim = outDim;
    this.ncrops = ncrops;
    this.studentTemp = c.studentTemp;
    this.centerMomentum = c.centerMomentum;
    this.center = tf.tidy(() => variable('dino_loss.center', tf.zeros([1, outDim]), false));
  }

  /** Number of loss terms: each of the 2 teacher views against every other student view. */
  get nLossTerms(): number {
    return 2 * (this.ncrops - 1);
  }

  /** tau_t at `epoch`. */
  teacherTemp(epoch: number): number {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= this.nepochs) {
      throw new ConfigError('epoch', epoch, `must be an integer in [0, ${this.nepochs - 1}] (the schedule's length)`);
    }
    return this.teacherTempSchedule[Math.min(epoch, this.teacherTempSchedule.length - 1)];
  }

  /**
   * The teacher's targets softmax((t - c) / tau_t), [2B, K]: constants for the student (the
   * reference detaches them).
   */
  teacherTargets(teacherOutput: tf.Tensor2D, epoch: number): tf.Tensor2D {
    this.checkTeacher(teacherOutput);
    const temp = this.teacherTemp(epoch);
    return tf.tidy(() => tf.softmax(tf.div(tf.sub(teacherOutput, this.center), temp)) as tf.Tensor2D);
  }

  /** Mean entropy (nats) of the teacher's targets at `epoch`, a scalar. */
  teacherEntropy(teacherOutput: tf.Tensor2D, epoch: number): tf.Scalar {
    this.checkTeacher(teacherOutput);
    const temp = this.teacherTemp(epoch);
    return tf.tidy(() => {
      // -sum q log q with log q from logSoftmax: no 0 * log 0 for saturated targets.
      const logq = tf.logSoftmax(tf.div(tf.sub(teacherOutput, this.center), temp));
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.exp(logq), logq), -1))) as tf.Scalar;
    });
  }

  /**
   * Sum, over the teacher views iq in {0, 1} and the student views `views[j]` != iq, of the
   * batch-mean cross-entropy sum_k -q log softmax(s / tau_s), NOT yet divided by the number of
   * terms. `studentViews` is [views.length * n, K], the outputs of those views in that order for
   * the batch rows `rows` = [start, start + n) (default: the whole batch). The batch mean always
   * divides by the whole batch B, so partial sums over disjoint row ranges add up.
   * Because the targets are constants, the loss is the sum of these partial sums over any
   * partition of the (view, row) pairs, divided by `nLossTerms`: that lets a training step
   * back-propagate one view (or one resolution group, or a slice of the batch) at a time.
   */
  crossEntropyTerms(studentViews: tf.Tensor2D, views: number[], targets: tf.Tensor2D, rows?: [number, number]): tf.Scalar {
    const k = this.outDim;
    if (targets.rank !== 2 || targets.shape[1] !== k || targets.shape[0] % 2 !== 0) {
      throw new ShapeError(`DinoLoss: teacher targets must be [2 * batch, ${k}], got [${targets.shape}]`);
    }
    const b = targets.shape[0] / 2;
    const [r0, r1] = rows ?? [0, b];
    if (!Number.isInteger(r0) || !Number.isInteger(r1) || r0 < 0 || r1 > b || r1 <= r0) {
      throw new ConfigError('rows', rows, `must be [start, end) with 0 <= start < end <= batch ${b}`);
    }
    const n = r1 - r0;
    if (studentViews.rank !== 2 || studentViews.shape[1] !== k || studentViews.shape[0] !== views.length * n) {
      throw new ShapeError(
        `DinoLoss: student output must be [${views.length} views * ${n} rows, ${k}], got [${studentViews.shape}]`,
      );
    }
    for (const v of views) {
      if (!Number.isInteger(v) || v < 0 || v >= this.ncrops) {
        throw new ConfigError('views', views, `must hold crop indices in [0, ${this.ncrops - 1}]`);
      }
    }
    return tf.tidy(() => {
      const q0 = tf.slice(targets, [r0, 0], [n, k]);
      const q1 = tf.slice(targets, [b + r0, 0], [n, k]);
      let total: tf.Tensor = tf.scalar(0);
      views.forEach((v, j) => {
        // The sum over k of -q log p for both teacher views at once: (q0 + q1) when v is local.
        const q = v === 0 ? q1 : v === 1 ? q0 : tf.add(q0, q1);
        const logp = tf.logSoftmax(tf.div(tf.slice(studentViews, [j * n, 0], [n, k]), this.studentTemp));
        total = tf.add(total, tf.div(tf.neg(tf.sum(tf.mul(q, logp))), b));
      });
      return total as tf.Scalar;
    });
  }

  /**
   * The loss and monitoring numbers without touching the center (so a caller can check the
   * value before committing anything).
   */
  compute(studentOutput: tf.Tensor2D, teacherOutput: tf.Tensor2D, epoch: number): DinoLossOutput {
    this.checkTeacher(teacherOutput);
    const views = Array.from({ length: this.ncrops }, (_, i) => i);
    return tf.tidy(() => {
      const targets = this.teacherTargets(teacherOutput, epoch);
      const loss = tf.div(this.crossEntropyTerms(studentOutput, views, targets), this.nLossTerms) as tf.Scalar;
      const teacherEntropy = this.teacherEntropy(teacherOutput, epoch);
      // Each teacher view is paired with ncrops - 1 student views, so the mean of H(P_t) over
      // the loss terms is the plain mean entropy, and mean KL = mean CE - mean H exactly.
      const kl = tf.sub(loss, teacherEntropy) as tf.Scalar;
      return { loss, teacherEntropy, kl, nLossTerms: this.nLossTerms };
    });
  }

  /** The reference's forward: the loss, then the center update. */
  forward(studentOutput: tf.Tensor2D, teacherOutput: tf.Tensor2D, epoch: number): DinoLossOutput {
    const out = this.compute(studentOutput, teacherOutput, epoch);
    this.updateCenter(teacherOutput);
    return out;
  }

  /** c <- m c + (1 - m) mean over the 2B teacher rows (reference update_center, one process). */
  updateCenter(teacherOutput: tf.Tensor2D): void {
    this.checkTeacher(teacherOutput);
    tf.tidy(() => {
      const batchCenter = tf.div(tf.sum(teacherOutput, 0, true), teacherOutput.shape[0]);
      this.center.assign(tf.add(tf.mul(this.center, this.centerMomentum), tf.mul(batchCenter, 1 - this.centerMomentum)));
    });
  }

  /** The center as a named array (checkpoint key `center`, as the reference's state dict). */
  async getState(): Promise<Record<string, NamedArray>> {
    return { center: { dtype: 'F32', shape: [1, this.outDim], data: (await this.center.data()) as Float32Array } };
  }

  loadState(state: Record<string, NamedArray>): void {
    const c = state.center;
    if (!c || c.shape.length !== 2 || c.shape[0] !== 1 || c.shape[1] !== this.outDim) {
      throw new ShapeError(`DinoLoss.loadState: "center" must be [1, ${this.outDim}], got ${c ? `[${c.shape}]` : 'nothing'}`);
    }
    tf.tidy(() => this.center.assign(tf.tensor2d(Float32Array.from(c.data as ArrayLike<number>, Number), [1, this.outDim])));
  }

  dispose(): void {
    this.center.dispose();
  }

  private checkTeacher(t: tf.Tensor2D): void {
    if (t.rank !== 2 || t.shape[1] !== this.outDim || t.shape[0] % 2 !== 0 || t.shape[0] === 0) {
      throw new ShapeError(`DinoLoss: teacher output must be [2 * batch, ${this.outDim}], got [${t.shape}]`);
    }
  }
}
