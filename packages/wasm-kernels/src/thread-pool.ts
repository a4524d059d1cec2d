/**
 * A pool of threads that run parts of one kernel call on the shared memory of the wasm backend.
 *
 * Design (the same in Node and in browsers): each worker instantiates the kernel module on the
 * backend's shared WebAssembly.Memory, with its own shadow stack and GEMM workspace, and then
 * blocks on a control word in that memory (Atomics.wait). The calling thread writes one job per
 * worker (export id and arguments, as float64s) into the control block, bumps a sequence word
 * and notifies; it runs the first part itself and then waits for the workers' done counter.
 * No message is posted per call and no tensor is copied: a kernel call costs a futex wake-up.
 * Workers are plain `worker_threads` in Node and Web Workers (from a blob: URL) in browsers;
 * both receive the compiled modules and the memory once, at start.
 *
 * Kernels split their work so that every output element is computed by the same instructions in
 * the same order whichever thread runs it: results are the same bits for any thread count.
 */
import { nodeBuiltin, nodeProcess } from './node-env';

/** The exports a job may name, by index (the worker resolves them once). */
export const POOL_EXPORTS = [
  'gemm_strided',
  'bias_activation',
  'unary_f32',
  'binary_f32',
  'reduce_f32',
  'transpose32',
  'slice32',
  'copy_rows32',
  'layer_norm_f32',
  'layer_norm_grad_f32',
  'layer_norm_grad_params_f32',
  'gelu_f32',
  'gelu_grad_f32',
  'adamw_f32',
  'ema_f32',
  'softmax_f32',
  'attention_f32',
] as const;
export type PoolExport = (typeof POOL_EXPORTS)[number];

/** Control block layout, in int32 words: sequence, done counter, exit flag, error flag. */
const SEQ = 0;
const DONE = 1;
const EXIT = 2;
const ERROR = 3;
const HEADER_BYTES = 64;
/** Per-worker job slot: [export id, argument count, arguments...] as float64. */
const SLOT_F64 = 24;
export const MAX_JOB_ARGS = SLOT_F64 - 2;
/** Polls of the sequence word before a worker sleeps (see the worker's loop). */
const SPIN_ITERS = 50_000;
/** A part of one kernel call runs for milliseconds; this long without progress means a dead worker. */
const STALL_MS = 120_000;

/** The code each worker runs; a string so the package needs no separate worker file. */
const WORKER_SOURCE = `
'use strict';
function start(init) {
  const { memory, base, relaxed, relaxedNames, names, stackTop, ctlPtr, slotPtr } = init;
  const imports = { env: { memory } };
  const b = new WebAssembly.Instance(base, imports).exports;
  const r = relaxed == null ? null : new WebAssembly.Instance(relaxed, imports).exports;
  b.__stack_pointer.value = stackTop;
  if (r != null) r.__stack_pointer.value = stackTop;
  const fns = names.map((n) => (r != null && relaxedNames.includes(n) ? r[n] : b[n]));
  const ctl = new Int32Array(memory.buffer, ctlPtr, 16);
  // Read before saying ready: the first job may be posted the moment the pool hears it.
  let seen = Atomics.load(ctl, ${SEQ});
  post('ready');
  for (;;) {
    // A spin first (some 50-100 us): the kernel calls of a step come a few tens of microseconds
    // apart (tfjs's op dispatch in between), and a futex wake-up costs more than that here.
    // Measured on the fashion-mnist preset at 2 threads: 2,000 spins 344 img/s, 50,000 366;
    // the bench step is unchanged.
    let s = seen;
    for (let i = 0; i < ${SPIN_ITERS} && (s = Atomics.load(ctl, ${SEQ})) === seen; i++);
    if (s === seen) {
      Atomics.wait(ctl, ${SEQ}, seen);
      continue;
    }
    seen = s;
    if (Atomics.load(ctl, ${EXIT}) !== 0) break;
    const job = new Float64Array(memory.buffer, slotPtr, ${SLOT_F64});
    const id = job[0];
    if (id >= 0) {
      const n = job[1];
      const args = new Array(n);
      for (let i = 0; i < n; i++) args[i] = job[2 + i];
      try {
        fns[id](...args);
      } catch (e) {
        Atomics.store(ctl, ${ERROR}, 1);
      }
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
let post;
if (typeof process === 'object' && process.versions != null && process.versions.node != null) {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  post = (m) => parentPort.postMessage(m);
  parentPort.once('message', (init) => start(init));
} else {
  post = (m) => self.postMessage(m);
  self.onmessage = (e) => start(e.data);
}
`;

interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
  unref?(): void;
}

export interface PoolOptions {
  memory: WebAssembly.Memory;
  base: WebAssembly.Module;
  relaxed: WebAssembly.Module | null;
  /** Exports the relaxed module provides in place of the base module's. */
  relaxedNames: readonly string[];
  /** Workers to start (threads - 1: the calling thread runs one part itself). */
  workers: number;
  /** Allocates `bytes` in the shared memory (the backend's malloc); never returns 0. */
  malloc(bytes: number): number;
  free(ptr: number): void;
  stackBytes: number;
  workspaceBytes: number;
}

interface WorkerState {
  worker: WorkerLike;
  stack: number;
  workspace: number;
  slot: number;
}

interface NodeWorkerThreads {
  Worker: new (src: string, opts: { eval: boolean }) => WorkerLike & {
    once(ev: 'message' | 'error', f: (v: unknown) => void): void;
  };
}

function nodeWorkerThreads(): NodeWorkerThreads | null {
  return nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
}

/** Why threads cannot run here, or null when they can. */
export function threadsUnavailableReason(memory: WebAssembly.Memory | null): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    return 'this environment has no SharedArrayBuffer (a browser page must be cross-origin isolated: COOP same-origin + COEP require-corp)';
  }
  if (memory != null && !(memory.buffer instanceof SharedArrayBuffer)) {
    return "the wasm backend's memory is not shared: call prepareWasmThreads() before tf.setBackend('wasm') (and, in a browser, serve the page cross-origin isolated so tfjs loads its threaded build)";
  }
  if (nodeProcess() != null) {
    return nodeWorkerThreads() == null ? 'this Node lacks process.getBuiltinModule (Node >= 20.16 is needed for threads)' : null;
  }
  return typeof Worker === 'undefined' ? 'this environment has no Web Workers' : null;
}

/** The worker count a pool may usefully run next to the calling thread. */
export function defaultThreadCount(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const os = nodeBuiltin<{ availableParallelism?(): number }>('node:os');
  return Math.max(1, os?.availableParallelism?.() ?? nav?.hardwareConcurrency ?? 1);
}

export class ThreadPool {
  /** Threads a call can use, the calling one included. */
  readonly threads: number;
  private readonly memory: WebAssembly.Memory;
  /** The control block's allocation and its 8-byte aligned start. */
  private readonly ctlAlloc: number;
  private readonly ctlPtr: number;
  private readonly states: WorkerState[];
  private readonly free: (ptr: number) => void;
  private readonly canBlock: boolean;
  private viewCache: { buffer: ArrayBufferLike; ctl: Int32Array; jobs: Float64Array[] } | null = null;
  private disposed = false;

  private constructor(opts: PoolOptions, ctlAlloc: number, ctlPtr: number, states: WorkerState[]) {
    this.memory = opts.memory;
    this.ctlAlloc = ctlAlloc;
    this.ctlPtr = ctlPtr;
    this.states = states;
    this.free = opts.free;
    this.threads = states.length + 1;
    this.canBlock = canBlockHere();
  }

  /** Starts the workers; resolves when every one has instantiated the modules. */
  static async start(opts: PoolOptions): Promise<ThreadPool> {
    const reason = threadsUnavailableReason(opts.memory);
    if (reason != null) throw new Error(`wasm-kernels: threads unavailable: ${reason}`);
    const ctlPtr = opts.malloc(HEADER_BYTES + opts.workers * SLOT_F64 * 8 + 8);
    const ctlBase = (ctlPtr + 7) & ~7;
    new Int32Array(opts.memory.buffer, ctlBase, HEADER_BYTES / 4).fill(0);
    const states: WorkerState[] = [];
    const ready: Promise<void>[] = [];
    const node = nodeWorkerThreads();
    try {
      for (let w = 0; w < opts.workers; w++) {
        const stack = opts.malloc(opts.stackBytes);
        const workspace = opts.malloc(opts.workspaceBytes);
        const slot = ctlBase + HEADER_BYTES + w * SLOT_F64 * 8;
        let worker: WorkerLike;
        let whenReady: Promise<void>;
        if (node != null) {
          const nw = new node.Worker(WORKER_SOURCE, { eval: true });
          whenReady = new Promise((resolve, reject) => {
            nw.once('message', () => resolve());
            nw.once('error', (e) => reject(e));
          });
          worker = nw;
        } else {
          const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
          const ww = new Worker(url);
          URL.revokeObjectURL(url);
          whenReady = new Promise((resolve, reject) => {
            ww.onmessage = () => resolve();
            ww.onerror = (e) => reject(new Error(e.message));
          });
          worker = ww;
        }
        states.push({ worker, stack, workspace, slot });
        ready.push(whenReady);
        worker.postMessage({
          memory: opts.memory,
          base: opts.base,
          relaxed: opts.relaxed,
          relaxedNames: [...opts.relaxedNames],
          names: [...POOL_EXPORTS],
          stackTop: ((stack + opts.stackBytes) & ~15) | 0,
          ctlPtr: ctlBase,
          slotPtr: slot,
        });
      }
      await Promise.all(ready);
      // A blocked worker must not keep Node running once the program is done (only now: until
      // they are ready, the workers are what keeps the event loop waiting for them).
      for (const s of states) s.worker.unref?.();
    } catch (e) {
      for (const s of states) {
        void s.worker.terminate();
        opts.free(s.stack);
        opts.free(s.workspace);
      }
      opts.free(ctlPtr);
      throw e;
    }
    return new ThreadPool(opts, ctlPtr, ctlBase, states);
  }

  /** Byte offset of worker `w`'s GEMM workspace (16-byte aligned). */
  workspace(w: number): number {
    return (this.states[w].workspace + 15) & ~15;
  }

  /**
   * Runs `fn(...parts[i])` for every part: part 0 on the calling thread (through `local`), the
   * others on workers 0.. parts.length - 2. Returns when all are done.
   */
  /** Views of the control block and job slots, made again only when the memory has grown. */
  private views(): { ctl: Int32Array; jobs: Float64Array[] } {
    const buf = this.memory.buffer;
    if (this.viewCache?.buffer !== buf) {
      this.viewCache = {
        buffer: buf,
        ctl: new Int32Array(buf, this.ctlPtr, 16),
        jobs: this.states.map((s) => new Float64Array(buf, s.slot, SLOT_F64)),
      };
    }
    return this.viewCache;
  }

  run(fn: PoolExport, parts: readonly (readonly number[])[], local: (...args: number[]) => void): void {
    if (this.disposed) throw new Error('wasm-kernels: the thread pool was disposed');
    if (parts.length - 1 > this.states.length) throw new Error('wasm-kernels: more parts than threads');
    const { ctl, jobs } = this.views();
    const id = POOL_EXPORTS.indexOf(fn);
    for (let w = 0; w < this.states.length; w++) {
      const job = jobs[w];
      const part = parts[w + 1];
      if (part == null) {
        job[0] = -1;
        continue;
      }
      if (part.length > MAX_JOB_ARGS) throw new Error('wasm-kernels: too many job arguments');
      job[0] = id;
      job[1] = part.length;
      for (let i = 0; i < part.length; i++) job[2 + i] = part[i];
    }
    Atomics.store(ctl, DONE, 0);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    try {
      local(...parts[0]);
    } finally {
      // Even when this thread's part throws, the workers' parts finish before the next call
      // reuses their slots and the done counter.
      this.waitForWorkers(ctl, fn);
    }
  }

  private waitForWorkers(ctl: Int32Array, fn: PoolExport): void {
    const workers = this.states.length;
    let last = -1, since = performance.now();
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === workers) break;
      // Browsers forbid blocking the page's main thread: spin there (the wait is one kernel part).
      if (this.canBlock) Atomics.wait(ctl, DONE, done, 1000);
      if (done !== last) {
        last = done;
        since = performance.now();
      } else if (performance.now() - since > STALL_MS) {
        throw new Error(`wasm-kernels: a worker thread stopped responding during ${fn} (no progress in ${STALL_MS / 1000} s)`);
      }
    }
    if (Atomics.load(ctl, ERROR) !== 0) {
      Atomics.store(ctl, ERROR, 0);
      throw new Error(`wasm-kernels: ${fn} failed on a worker thread`);
    }
  }

  /** Stops the workers and frees their memory. */
  dispose(freeMemory: boolean): void {
    if (this.disposed) return;
    this.disposed = true;
    const { ctl } = this.views();
    Atomics.store(ctl, EXIT, 1);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    for (const s of this.states) {
      void s.worker.terminate();
      if (freeMemory) {
        this.free(s.stack);
        this.free(s.workspace);
      }
    }
    if (freeMemory) this.free(this.ctlAlloc);
  }
}

function canBlockHere(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
