import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS, ShapeError, checkNumber, hasFusedKernel, runFused, type Params } from '@dino-ts/core';

/**
 * The momentum teacher (Caron et al. 2021, Sec. 3.1; reference train_one_epoch):
 * theta_t <- m theta_t + (1 - m) theta_s for every teacher parameter, matched to the student's by
 * name. Buffers (BatchNorm running statistics) are not averaged: the reference zips
 * `parameters()` only.
 *
 * @example
 * ```ts
 * emaUpdate(teacher.params(), student.params(), momentumSchedule[it]);
 * ```
 */
export function emaUpdate(teacher: Params, student: Params, momentum: number): void {
  checkNumber('momentum', momentum, { min: 0, max: 1 });
  // One pass per parameter where the backend has the fused kernel (the same float operations).
  const fused = hasFusedKernel(FUSED_KERNELS.ema);
  for (const [name, t] of teacher) {
    const s = student.get(name);
    if (!s) throw new ShapeError(`emaUpdate: the student has no parameter "${name}"`);
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
      throw new ShapeError(`emaUpdate: "${name}" is [${s.shape}] in the student but [${t.shape}] in the teacher`);
    }
    tf.tidy(() =>
      t.assign(
        fused
          ? runFused(FUSED_KERNELS.ema, { teacher: t, student: s }, { momentum, oneMinusMomentum: 1 - momentum })[0]
          : tf.add(tf.mul(t, momentum), tf.mul(s, 1 - momentum)),
      ),
    );
  }
}
