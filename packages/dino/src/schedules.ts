import { ConfigError, checkInt, checkNumber } from '@dino-ts/core';

/**
 * numpy.linspace(start, stop, num) in float64, including numpy's arithmetic (i * step + start,
 * with the last value set to `stop`), so schedules match the reference bit for bit.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 0) return out;
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * Per-iteration schedule of the reference (utils.cosine_scheduler): linear warm-up from
 * `startWarmupValue` to `baseValue` over `warmupEpochs * nitPerEpoch` iterations, then a half
 * cosine from `baseValue` down (or up) to `finalValue`. Used for the learning rate
 * (0.0005 * batch / 256 -> 1e-6, 10 warm-up epochs), the weight decay (0.04 -> 0.4) and the
 * teacher momentum (0.996 -> 1).
 *
 * @example
 * ```ts
 * const lr = cosineScheduler(0.0005 * 64 / 256, 1e-6, 100, 1000, 10);
 * lr[0];        // 0
 * lr[10_000];   // 0.000125, the peak after warm-up
 * ```
 */
export function cosineScheduler(
  baseValue: number,
  finalValue: number,
  epochs: number,
  nitPerEpoch: number,
  warmupEpochs = 0,
  startWarmupValue = 0,
): Float64Array {
  const s = new CosineSchedule(baseValue, finalValue, epochs, nitPerEpoch, warmupEpochs, startWarmupValue);
  const out = new Float64Array(s.length);
  for (let i = 0; i < out.length; i++) out[i] = s.at(i);
  return out;
}

/**
 * `cosineScheduler`'s values one iteration at a time, without the array: the same formulas in
 * the same float64 arithmetic, so `at(i)` equals `cosineScheduler(...)[i]` bit for bit. A run's
 * schedules then cost nothing per iteration, however many epochs it is configured for (the array
 * of a 100-million-epoch run would take gigabytes before its first step).
 */
export class CosineSchedule {
  /** epochs * nitPerEpoch. */
  readonly length: number;
  private readonly warmupIters: number;

  constructor(
    readonly baseValue: number,
    readonly finalValue: number,
    epochs: number,
    nitPerEpoch: number,
    warmupEpochs = 0,
    readonly startWarmupValue = 0,
  ) {
    checkNumber('baseValue', baseValue);
    checkNumber('finalValue', finalValue);
    checkInt('epochs', epochs, 1);
    checkInt('nitPerEpoch', nitPerEpoch, 1);
    checkInt('warmupEpochs', warmupEpochs, 0, epochs);
    checkNumber('startWarmupValue', startWarmupValue);
    this.length = epochs * nitPerEpoch;
    if (!Number.isSafeInteger(this.length)) throw new ConfigError('epochs * nitPerEpoch', this.length, 'must be a safe integer');
    this.warmupIters = warmupEpochs * nitPerEpoch;
  }

  /** The value at iteration `i`; a ConfigError naming `param` outside [0, length). */
  at(i: number, param = 'iteration'): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new ConfigError(param, i, `must be an integer in [0, ${this.length - 1}] (the schedule's length)`);
    }
    const w = this.warmupIters;
    if (i < w) {
      // linspace(startWarmupValue, baseValue, w)[i], numpy's arithmetic (see linspace).
      if (w === 1 || i === w - 1) return w === 1 ? this.startWarmupValue : this.baseValue;
      const step = (this.baseValue - this.startWarmupValue) / (w - 1);
      return i * step + this.startWarmupValue;
    }
    const n = this.length - w;
    const k = i - w;
    return this.finalValue + 0.5 * (this.baseValue - this.finalValue) * (1 + Math.cos((Math.PI * k) / n));
  }
}

/** Reads `schedule[index]`, throwing a ConfigError naming `param` when out of range. */
export function scheduleAt(schedule: Float64Array, index: number, param: string): number {
  if (!Number.isInteger(index) || index < 0 || index >= schedule.length) {
    throw new ConfigError(param, index, `must be an integer in [0, ${schedule.length - 1}] (the schedule's length)`);
  }
  return schedule[index];
}
