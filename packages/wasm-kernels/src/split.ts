/**
 * How a kernel call is cut into parts for the thread pool. Parts are contiguous ranges of one
 * dimension; each output element belongs to exactly one part and is computed by the same code
 * as with one thread, so the result does not depend on the thread count.
 */
import type { PoolExport } from './thread-pool';

export interface ParallelThresholds {
  /** Below this many output elements (element-wise ops) a split costs more than it saves. */
  elements: number;
  /** Below this many multiply-adds (matrix products) likewise. */
  macs: number;
}

/** Measured here: a futex wake-up is worth about 30k element-wise floats or 1M multiply-adds. */
export const DEFAULT_PARALLEL_THRESHOLDS: Readonly<ParallelThresholds> = Object.freeze({ elements: 1 << 15, macs: 1 << 20 });

/** The thresholds in force (set at registration). */
export const parallelMin: ParallelThresholds = { ...DEFAULT_PARALLEL_THRESHOLDS };

/**
 * `total` cut into at most `parts` ranges [start, length], each (but the last) a multiple of
 * `align` long; fewer ranges when there is not enough to go round.
 */
export function splitRange(total: number, parts: number, align = 1): [number, number][] {
  const unit = Math.max(1, align);
  const units = Math.ceil(total / unit);
  const n = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < n && start < total; i++) {
    const len = Math.min(total - start, Math.ceil((units - start / unit) / (n - i)) * unit);
    out.push([start, len]);
    start += len;
  }
  return out;
}

/**
 * Threads for a call of `work` units (output elements, or multiply-adds with
 * `min = parallelMin.macs`): all of the module's above the threshold, one below it.
 */
export function threadsFor(mod: { threads: number }, work: number, min = parallelMin.elements): number {
  return work < min ? 1 : mod.threads;
}

/** An export that the thread pool can run (see thread-pool.ts). */
type Runner = { threads: number; parallel(fn: PoolExport, parts: readonly (readonly number[])[]): void };

/**
 * An element-wise export over n floats: `fn(...ptrs advanced to the part, length, ...scalars)`,
 * in parts of whole 16-float blocks on the module's threads (one thread below the threshold).
 */
export function elementwise(mod: Runner, fn: PoolExport, ptrs: readonly number[], n: number, scalars: readonly number[] = []): void {
  mod.parallel(fn, splitRange(n, threadsFor(mod, n), 16).map(([i0, len]) => [...ptrs.map((p) => p + 4 * i0), len, ...scalars]));
}
