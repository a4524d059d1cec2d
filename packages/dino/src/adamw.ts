import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS, ShapeError, checkNumber, hasFusedKernel, runFused, type NamedArray, type Params } from '@dino-ts/core';
import { ADAMW_DEFAULTS } from './defaults';
import type { Grads } from './grads';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Learning rate and weight decay of one step (the reference sets both every iteration). */
export interface AdamWStepOptions {
  lr: number;
  /** Weight decay of the regularized group; the other group always uses 0. */
  weightDecay: number;
}

interface Slot {
  step: number;
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

/**
 * The reference's parameter groups (utils.get_params_groups): trainable parameters whose name
 * ends in `.bias` or that are 1-D (norms, biases) get no weight decay; the others do.
 */
export function paramGroups(params: Params): { regularized: string[]; notRegularized: string[] } {
  const regularized: string[] = [];
  const notRegularized: string[] = [];
  for (const [name, v] of params) {
    if (!v.trainable) continue;
    if (name.endsWith('.bias') || v.rank === 1) notRegularized.push(name);
    else regularized.push(name);
  }
  return { regularized, notRegularized };
}

/**
 * torch.optim.AdamW (Loshchilov & Hutter, decoupled weight decay) as PyTorch 1.13 computes it,
 * with the reference's two parameter groups. Per parameter with a gradient:
 * p <- p (1 - lr wd); m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2; t <- t + 1;
 * p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * A parameter without a gradient this step (the frozen last layer) is skipped entirely, its
 * moments and step count included, as PyTorch does for `grad is None`. The step count is per
 * parameter, so a layer unfrozen later starts its own bias correction at t = 1.
 *
 * @example
 * ```ts
 * const opt = new AdamW(student.params());
 * opt.step(grads, { lr: lrSchedule[it], weightDecay: wdSchedule[it] });
 * ```
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly groups: { regularized: string[]; notRegularized: string[] };
  private readonly params: Params;
  private readonly regularized: Set<string>;
  private readonly slots = new Map<string, Slot>();

  constructor(params: Params, opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? ADAMW_DEFAULTS.beta1;
    this.beta2 = opts.beta2 ?? ADAMW_DEFAULTS.beta2;
    this.eps = opts.eps ?? ADAMW_DEFAULTS.eps;
    checkNumber('beta1', this.beta1, { min: 0, max: 1, maxExclusive: true });
    checkNumber('beta2', this.beta2, { min: 0, max: 1, maxExclusive: true });
    checkNumber('eps', this.eps, { min: 0 });
    this.params = new Map(params);
    this.groups = paramGroups(params);
    this.regularized = new Set(this.groups.regularized);
  }

  /** Applies one update to every trainable parameter that has a gradient in `grads`. */
  step(grads: Grads, opts: AdamWStepOptions): void {
    checkNumber('lr', opts.lr, { min: 0 });
    checkNumber('weightDecay', opts.weightDecay, { min: 0 });
    const fused = hasFusedKernel(FUSED_KERNELS.adamw);
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new ShapeError(`AdamW.step: gradient for unknown parameter "${name}"`);
      if (!p.trainable) continue;
      const wd = this.regularized.has(name) ? opts.weightDecay : 0;
      const slot = this.slot(name, p);
      slot.step += 1;
      const t = slot.step;
      const biasCorrection1 = 1 - this.beta1 ** t;
      const biasCorrection2Sqrt = Math.sqrt(1 - this.beta2 ** t);
      const stepSize = opts.lr / biasCorrection1;
      if (fused) {
        // One pass over the parameter and its moments: the same float operations as below.
        tf.tidy(() => {
          const [p1, m1, v1] = runFused(FUSED_KERNELS.adamw, { param: p, grad: g, expAvg: slot.expAvg, expAvgSq: slot.expAvgSq }, {
            decay: 1 - opts.lr * wd, beta1: this.beta1, oneMinusBeta1: 1 - this.beta1, beta2: this.beta2,
            oneMinusBeta2: 1 - this.beta2, biasCorrection2Sqrt, eps: this.eps, stepSize,
          });
          slot.expAvg.assign(m1);
          slot.expAvgSq.assign(v1);
          p.assign(p1);
        });
        continue;
      }
      tf.tidy(() => {
        const decayed = tf.mul(p, 1 - opts.lr * wd);
        const m = tf.add(tf.mul(slot.expAvg, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(slot.expAvgSq, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), biasCorrection2Sqrt), this.eps);
        slot.expAvg.assign(m);
        slot.expAvgSq.assign(v);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      });
    }
  }

  /** Steps taken by a parameter (0 before its first gradient). */
  stepCount(name: string): number {
    return this.slots.get(name)?.step ?? 0;
  }

  /**
   * The state as named arrays: `<param>.exp_avg`, `<param>.exp_avg_sq` (F32) and `<param>.step`
   * (F32 [1]), for the parameters that have state (PyTorch's lazily created state).
   */
  async getState(): Promise<Record<string, NamedArray>> {
    const out: Record<string, NamedArray> = {};
    for (const [name, s] of this.slots) {
      out[`${name}.exp_avg`] = { dtype: 'F32', shape: s.expAvg.shape.slice(), data: (await s.expAvg.data()) as Float32Array };
      out[`${name}.exp_avg_sq`] = { dtype: 'F32', shape: s.expAvgSq.shape.slice(), data: (await s.expAvgSq.data()) as Float32Array };
      out[`${name}.step`] = { dtype: 'F32', shape: [1], data: new Float32Array([s.step]) };
    }
    return out;
  }

  /** Restores `getState()` output; state of parameters absent there is cleared. */
  loadState(state: Record<string, NamedArray>): void {
    const suffixes = ['.exp_avg_sq', '.exp_avg', '.step'];
    const names = new Set<string>();
    for (const key of Object.keys(state)) {
      const suffix = suffixes.find((s) => key.endsWith(s));
      const name = suffix ? key.slice(0, -suffix.length) : undefined;
      if (!name || !this.params.has(name)) throw new ShapeError(`AdamW.loadState: unexpected key "${key}"`);
      names.add(name);
    }
    this.disposeSlots();
    for (const name of names) {
      const p = this.params.get(name)!;
      const get = (suffix: string, shape: number[]) => {
        const a = state[name + suffix];
        const size = shape.reduce((x, y) => x * y, 1);
        if (!a || a.data.length !== size) throw new ShapeError(`AdamW.loadState: "${name}${suffix}" missing or not of shape [${shape}]`);
        return Float32Array.from(a.data as ArrayLike<number>, Number);
      };
      const slot = this.slot(name, p);
      slot.step = get('.step', [1])[0];
      tf.tidy(() => {
        slot.expAvg.assign(tf.tensor(get('.exp_avg', p.shape), p.shape));
        slot.expAvgSq.assign(tf.tensor(get('.exp_avg_sq', p.shape), p.shape));
      });
    }
  }

  dispose(): void {
    this.disposeSlots();
  }

  private slot(name: string, p: tf.Variable): Slot {
    let s = this.slots.get(name);
    if (!s) {
      s = {
        step: 0,
        expAvg: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        expAvgSq: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      };
      this.slots.set(name, s);
    }
    return s;
  }

  private disposeSlots(): void {
    for (const s of this.slots.values()) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    }
    this.slots.clear();
  }
}
