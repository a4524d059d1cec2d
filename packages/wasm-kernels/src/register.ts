/**
 * Registering the fast kernels over the stock tfjs-backend-wasm ones, and restoring the stock
 * kernels, both explicit so a program (or a benchmark) can compare the two in one process.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { KernelModule, MAX_THREADS } from './kernel-module';
import { backendMemory, isWasmBackend } from './wasm-backend';
import { threadsUnavailableReason } from './thread-pool';
import { getState, setState } from './state';
import { batchMatMul } from './kernels/batch-mat-mul';
import { fusedMatMul } from './kernels/fused-mat-mul';
import { transpose } from './kernels/transpose';
import { unaryKernel, UNARY_OPS } from './kernels/unary';
import { binaryKernel, BINARY_OPS } from './kernels/binary';
import { reduceKernel, REDUCE_OPS } from './kernels/reduce';
import { slice, splitV, unpack } from './kernels/slice';
import { identity, cast } from './kernels/identity';
import { concat, pack } from './kernels/concat';
import { gatherV2 } from './kernels/gather';
import { FUSED_KERNELS } from './kernels/fused';
import { softmax } from './kernels/attention';
import { DEFAULT_PARALLEL_THRESHOLDS, parallelMin, type ParallelThresholds } from './split';

type AnyKernel = (args: never) => tf.TensorInfo | tf.TensorInfo[];

const KERNELS: Record<string, AnyKernel> = {
  [tf.BatchMatMul]: batchMatMul,
  [tf._FusedMatMul]: fusedMatMul,
  [tf.Transpose]: transpose,
  [tf.Slice]: slice,
  [tf.SplitV]: splitV,
  [tf.Unpack]: unpack,
  [tf.Concat]: concat,
  [tf.Pack]: pack,
  [tf.GatherV2]: gatherV2,
  [tf.Identity]: identity,
  [tf.Cast]: cast,
  [tf.Softmax]: softmax,
};
for (const name of Object.keys(UNARY_OPS) as (keyof typeof UNARY_OPS)[]) KERNELS[name] = unaryKernel(name);
for (const name of Object.keys(BINARY_OPS) as (keyof typeof BINARY_OPS)[]) KERNELS[name] = binaryKernel(name);
for (const name of Object.keys(REDUCE_OPS) as (keyof typeof REDUCE_OPS)[]) KERNELS[name] = reduceKernel(name);

/** tfjs kernel names this package replaces. */
export type WasmKernelName = string;
export const WASM_KERNEL_NAMES: readonly WasmKernelName[] = Object.freeze(Object.keys(KERNELS));

export interface RegisterOptions {
  /** Replace only these kernels (default: all of WASM_KERNEL_NAMES). */
  kernels?: readonly WasmKernelName[];
  /**
   * Run matrix products with relaxed SIMD's fused multiply-add where the engine has it (Chrome
   * 114+, Node 22+; Node 20 with `--experimental-wasm-relaxed-simd`). Default true; false keeps
   * the SIMD128 GEMM everywhere (bit-identical results across machines).
   */
  relaxedSimd?: boolean;
  /**
   * Threads the kernels may use, the calling one included (default 1: today's single-threaded
   * kernels, no workers). More than one needs the backend's memory to be shared: in Node call
   * `prepareWasmThreads()` before `tf.setBackend('wasm')`; in a browser serve the page
   * cross-origin isolated. Results are the same bits for every thread count.
   */
  threads?: number;
  /**
   * Also register the fused kernels (DinoAdamW, DinoEma, DinoGelu(Grad), DinoLayerNorm(Grad)),
   * which @dino-ts/core and @dino-ts/dino use where the active backend has them. Default true.
   */
  fused?: boolean;
  /**
   * Kernel calls smaller than this run on the calling thread alone (default
   * DEFAULT_PARALLEL_THRESHOLDS); lower them to exercise the splits on a small model.
   */
  parallelThresholds?: Partial<ParallelThresholds>;
}

/**
 * Replaces the stock tfjs-backend-wasm kernels with the SIMD kernels of this package. The wasm
 * backend must be initialised first. Calling it again re-registers (e.g. another subset);
 * `unregisterWasmKernels()` restores the stock kernels.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmKernels } from '@dino-ts/wasm-kernels';
 * await tf.setBackend('wasm');
 * await registerWasmKernels();
 * tf.matMul(tf.ones([64, 32]), tf.ones([48, 32]), false, true).print(); // runs the packed GEMM
 * ```
 * @returns the names of the kernels now replaced.
 */
export function registerWasmKernels(options: RegisterOptions = {}): Promise<WasmKernelName[]> {
  // Registrations run one after another: two overlapping ones would otherwise both see the stock
  // kernels missing and save each other's kernels as "stock".
  const run = queue.then(() => register(options));
  queue = run.catch(() => undefined);
  return run;
}

let queue: Promise<unknown> = Promise.resolve();
const OURS = new Set<unknown>(Object.values(KERNELS));

async function register(options: RegisterOptions): Promise<WasmKernelName[]> {
  const names = options.kernels ?? WASM_KERNEL_NAMES;
  for (const name of names) {
    if (!(name in KERNELS)) {
      throw new Error(
        `registerWasmKernels: kernels contains '${String(name)}'; allowed: ${WASM_KERNEL_NAMES.join(', ')}`,
      );
    }
  }
  const backend = tf.findBackend('wasm');
  if (backend == null) {
    throw new Error(
      "registerWasmKernels: the 'wasm' backend is not initialised; import '@tensorflow/tfjs-backend-wasm' " +
        "and await tf.setBackend('wasm') (or tf.ready()) first",
    );
  }
  if (!isWasmBackend(backend)) {
    throw new Error("registerWasmKernels: the backend registered as 'wasm' is not tfjs-backend-wasm 4.x");
  }
  const relaxedSimd = options.relaxedSimd ?? true;
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new Error(`registerWasmKernels: threads is ${String(threads)}; use an integer from 1 to ${MAX_THREADS}`);
  }
  if (threads > 1) {
    const reason = threadsUnavailableReason(backendMemory(backend));
    if (reason != null) throw new Error(`registerWasmKernels: threads ${threads} asked for, but ${reason}`);
  }
  let st = getState();
  if (st != null && (st.module.backend !== backend || st.relaxedRequested !== relaxedSimd || st.module.threads !== threads)) {
    // The wasm backend was re-created since the last registration, or the GEMM build changes.
    unregisterWasmKernels();
    st = null;
  }
  if (st == null) {
    const module = await KernelModule.create(backend, { relaxedSimd, threads });
    st = { module, stock: new Map<string, KernelConfig>(), relaxedRequested: relaxedSimd };
    setState(st);
  }
  // Restore what is registered now, then replace the requested subset.
  for (const [name, cfg] of st.stock) {
    if (!names.includes(name as WasmKernelName)) {
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(cfg);
      st.stock.delete(name);
    }
  }
  for (const name of names) {
    if (st.stock.has(name)) continue;
    const stock = tf.getKernel(name, 'wasm');
    if (stock == null) throw new Error(`registerWasmKernels: tfjs-backend-wasm has no stock ${name} kernel`);
    if (OURS.has(stock.kernelFunc)) {
      throw new Error(`registerWasmKernels: ${name} is already this package's kernel but not recorded as replaced`);
    }
    st.stock.set(name, stock);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: KERNELS[name] as unknown as KernelFunc });
  }
  setFused(options.fused ?? true);
  Object.assign(parallelMin, DEFAULT_PARALLEL_THRESHOLDS, options.parallelThresholds ?? {});
  return [...names];
}

/** Registers (or removes) the fused kernels, which have no stock kernel to restore. */
function setFused(on: boolean): void {
  for (const [name, kernelFunc] of Object.entries(FUSED_KERNELS)) {
    const registered = tf.getKernel(name, 'wasm') != null;
    if (on && !registered) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc });
    if (!on && registered) tf.unregisterKernel(name, 'wasm');
  }
}

/** Restores the stock kernels and frees the kernel module's workspace. No-op when not registered. */
export function unregisterWasmKernels(): void {
  const st = getState();
  if (st == null) return;
  for (const [name, cfg] of st.stock) {
    if (tf.getKernel(name, 'wasm') != null) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(cfg);
  }
  st.stock.clear();
  setFused(false);
  st.module.dispose();
  setState(null);
}

/**
 * Which build runs: `relaxedSimd` true when matrix products use the fused multiply-add module.
 * null when the kernels are not registered.
 */
export function wasmKernelsInfo(): { relaxedSimd: boolean; threads: number; kernels: WasmKernelName[] } | null {
  const st = getState();
  return st == null ? null : { relaxedSimd: st.module.relaxedSimd, threads: st.module.threads, kernels: [...st.stock.keys()] };
}

/** Names of the kernels currently replaced (empty when the stock kernels run). */
export function registeredWasmKernels(): WasmKernelName[] {
  const st = getState();
  return st == null ? [] : ([...st.stock.keys()] as WasmKernelName[]);
}
