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
  checkNumber('baseValue', baseValue);
  checkNumber('finalValue', finalValue);
  checkInt('epochs', epochs, 1);
  checkInt('nitPerEpoch', nitPerEpoch, 1);
  checkInt('warmupEpochs', warmupEpochs, 0, epochs);
  checkNumber('startWarmupValue', startWarmupValue);
  const total = epochs * nitPerEpoch;
  const warmupIters = warmupEpochs * nitPerEpoch;
  const out = new Float64Array(total);
  if (warmupEpochs > 0) out.set(linspace(startWarmupValue, baseValue, warmupIters));
  const n = total - warmupIters;
  for (let i = 0; i < n; i++) {
    out[warmupIters + i] = finalValue + 0.5 * (baseValue - finalValue) * (1 + Math.cos((Math.PI * i) / n));
  }
  return out;
}

/** Reads `schedule[index]`, throwing a ConfigError naming `param` when out of range. */
export function scheduleAt(schedule: Float64Array, index: number, param: string): number {
  if (!Number.isInteger(index) || index < 0 || index >= schedule.length) {
    throw new ConfigError(param, index, `must be an integer in [0, ${schedule.length - 1}] (the schedule's length)`);
  }
  return schedule[index];
}
