/**
 * The compiled kernel module (csrc/*.c -> wasm/dino-kernels.wasm), instantiated on the memory of
 * one tfjs-backend-wasm instance so kernels read inputs and write outputs in place.
 *
 * The module has no data segment and no memory of its own; what it needs beyond the tensors (a
 * shadow stack, GEMM packing buffers, small argument arrays) is allocated here with the backend's
 * own `_malloc`, so it never collides with the backend's heap.
 */
import { WASM_BINARY_BASE64, WASM_RELAXED_BASE64 } from './wasm-binary.generated';
import { backendMemory, type WasmBackendLike } from './wasm-backend';
import { isSharedMemory, withSharedMemory } from './shared-memory';
import { ThreadPool, type PoolExport } from './thread-pool';
import { nodeBuiltin } from './node-env';

/** Functions the module exports (pointers are byte offsets, strides are in elements). */
export interface KernelExports {
  gemm_workspace_floats(): number;
  gemm_strided(
    batch: number, m: number, n: number, k: number,
    a: number, sa: number, ars: number, acs: number,
    b: number, sb: number, brs: number, bcs: number,
    c: number, sc: number, ldc: number, ws: number, bias: number,
  ): void;
  bias_activation(c: number, rows: number, n: number, bias: number, biasMode: number, biasRows: number, act: number, alpha: number): void;
  transpose32(input: number, output: number, rank: number, shape: number, perm: number, begin: number, count: number): void;
  unary_f32(x: number, y: number, n: number, op: number): void;
  binary_f32(op: number, a: number, b: number, out: number, rank: number, shape: number, astride: number, bstride: number): void;
  reduce_f32(op: number, x: number, out: number, rank: number, shape: number, reduced: number, scale: number): void;
  slice32(x: number, out: number, rank: number, shape: number, begin: number, size: number): void;
  copy_rows32(x: number, out: number, rows: number, n: number, ldo: number): void;
  softmax_f32(x: number, y: number, rows: number, n: number, scale: number): void;
  attention_f32(
    q: number, qbs: number, qrs: number, k: number, v: number, kvbs: number, kvrs: number,
    out: number, obs: number, ors: number, queries: number, n: number, heads: number, hd: number,
    scale: number, pair0: number, pairs: number, s: number, ws: number,
  ): void;
  __stack_pointer: WebAssembly.Global;
}

const STACK_BYTES = 64 * 1024;
/** Upper bound on threads (the per-part argument areas are sized for it). */
export const MAX_THREADS = 64;
/** Room for the small int32 argument arrays (shapes, permutations) passed to kernels. */
const ARGS_INTS = 64;

/** Compiled modules per memory kind: an import of a shared memory is another module type. */
const compiled = new Map<boolean, Promise<WebAssembly.Module>>();
const compiledRelaxed = new Map<boolean, Promise<WebAssembly.Module | null>>();

function decodeBase64(b64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') {
    const buf = Buffer.from(b64, 'base64');
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function moduleBytes(b64: string, shared: boolean): BufferSource {
  const bytes = decodeBase64(b64);
  if (!shared) return bytes as BufferSource;
  const s = withSharedMemory(bytes);
  if (s == null) throw new Error('wasm-kernels: the kernel module declares no memory maximum (rebuild it)');
  return s as BufferSource;
}

/** Compiles the embedded module once per process (per memory kind). */
export function compileKernelModule(shared = false): Promise<WebAssembly.Module> {
  let m = compiled.get(shared);
  if (m == null) {
    m = WebAssembly.compile(moduleBytes(WASM_BINARY_BASE64, shared));
    compiled.set(shared, m);
  }
  return m;
}

/**
 * The relaxed-SIMD module (the GEMM and the math kernels with fused multiply-adds), or null
 * where the engine lacks relaxed SIMD (validation fails, e.g. Node 20 without
 * --experimental-wasm-relaxed-simd). A success is kept for the process; a failure is re-checked
 * on the next call (the engine flag may have been switched on since).
 */
export function compileRelaxedModule(shared = false): Promise<WebAssembly.Module | null> {
  let m = compiledRelaxed.get(shared);
  if (m == null) {
    const bytes = moduleBytes(WASM_RELAXED_BASE64, shared);
    if (!WebAssembly.validate(bytes)) return Promise.resolve(null);
    m = WebAssembly.compile(bytes);
    compiledRelaxed.set(shared, m);
  }
  return m;
}

/**
 * Switches on V8's relaxed-SIMD flag in Node versions that ship it off (Node 20), so the fused
 * multiply-add GEMM can run; call it before `registerWasmKernels()`. Returns whether relaxed SIMD
 * is now available. Does nothing where it is already on (Node 22+, Chrome 114+) or where flags
 * cannot be set (browsers, Node < 20.16 without process.getBuiltinModule). It changes a
 * process-wide V8 setting, which is why it is a separate, explicit call.
 *
 * @example
 * ```ts
 * tryEnableRelaxedSimd();          // Node 20: ~1.4x faster matrix products
 * await registerWasmKernels();
 * ```
 */
export function tryEnableRelaxedSimd(): boolean {
  const bytes = decodeBase64(WASM_RELAXED_BASE64) as BufferSource;
  if (WebAssembly.validate(bytes)) return true;
  const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
  if (v8 == null) return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes);
}

/** Whether this engine runs relaxed SIMD (fused multiply-add) WebAssembly. */
export async function relaxedSimdSupported(): Promise<boolean> {
  return (await compileRelaxedModule()) != null;
}

export interface KernelModuleOptions {
  /** Use the fused multiply-add GEMM and math where the engine supports relaxed SIMD (default true). */
  relaxedSimd?: boolean;
  /** Threads kernels may use, the calling one included (default 1: no workers). */
  threads?: number;
}

/**
 * The functions the relaxed-SIMD module provides in place of the baseline ones: the GEMM and the
 * polynomial math (exp, erf, tanh, log, ... GELU, softmax, and the attention built on both), whose
 * multiply-adds it fuses.
 */
const RELAXED_NAMES = ['gemm_strided', 'bias_activation', 'unary_f32', 'gelu_f32', 'gelu_grad_f32', 'softmax_f32', 'attention_f32'] as const;
type RelaxedExports = Pick<KernelExports, 'gemm_workspace_floats' | '__stack_pointer'> &
  Record<(typeof RELAXED_NAMES)[number], (...args: number[]) => void>;

export class KernelModule {
  readonly exports: KernelExports;
  readonly backend: WasmBackendLike;
  /** True when GEMM and the math kernels run the relaxed-SIMD (fused multiply-add) build. */
  readonly relaxedSimd: boolean;
  private readonly memory: WebAssembly.Memory;
  /** Workers for kernel calls large enough to split; null with one thread. */
  private pool: ThreadPool | null = null;
  private stackPtr: number;
  private gemmWs: number;
  private argsPtr: number;
  private disposed = false;

  private constructor(
    backend: WasmBackendLike,
    memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
    relaxed: WebAssembly.Instance | null,
  ) {
    this.backend = backend;
    this.memory = memory;
    const base = instance.exports as unknown as KernelExports;
    const fma = relaxed?.exports as unknown as RelaxedExports | undefined;
    if (fma != null && fma.gemm_workspace_floats() !== base.gemm_workspace_floats()) {
      throw new Error('wasm-kernels: the relaxed-SIMD module was built from other sources');
    }
    this.relaxedSimd = fma != null;
    this.exports = fma == null ? base : { ...base, ...Object.fromEntries(RELAXED_NAMES.map((n) => [n, fma[n]])) };
    this.stackPtr = this.malloc(STACK_BYTES);
    // The stack grows down from the (16-byte aligned) top of its region. Both modules may use it:
    // calls never interleave (JavaScript is single-threaded here).
    const top = ((this.stackPtr + STACK_BYTES) & ~15) | 0;
    base.__stack_pointer.value = top;
    if (fma != null) fma.__stack_pointer.value = top;
    this.gemmWs = this.malloc(this.gemmWorkspaceBytes);
    this.argsPtr = this.malloc(ARGS_INTS * 4 * MAX_THREADS);
  }

  private get gemmWorkspaceBytes(): number {
    return this.exports.gemm_workspace_floats() * 4 + 64;
  }

  private malloc(bytes: number): number {
    const p = this.backend.wasm._malloc(bytes) >>> 0;
    if (p === 0) throw new Error(`wasm-kernels: out of wasm memory allocating ${bytes} bytes`);
    return p;
  }

  /**
   * Instantiates the kernel module(s) on `backend`'s memory, and starts `threads - 1` workers
   * on it when more than one thread is asked for (the memory must then be shared).
   */
  static async create(backend: WasmBackendLike, options: KernelModuleOptions = {}): Promise<KernelModule> {
    const memory = backendMemory(backend);
    const shared = isSharedMemory(memory);
    const imports = { env: { memory } };
    const baseMod = await compileKernelModule(shared);
    const instance = await WebAssembly.instantiate(baseMod, imports);
    const relaxedMod = options.relaxedSimd === false ? null : await compileRelaxedModule(shared);
    const relaxed = relaxedMod == null ? null : await WebAssembly.instantiate(relaxedMod, imports);
    const km = new KernelModule(backend, memory, instance, relaxed);
    const threads = Math.min(MAX_THREADS, Math.max(1, Math.floor(options.threads ?? 1)));
    if (threads > 1) {
      try {
        km.pool = await ThreadPool.start({
          memory,
          base: baseMod,
          relaxed: relaxedMod,
          relaxedNames: RELAXED_NAMES,
          workers: threads - 1,
          malloc: (b) => km.malloc(b),
          free: (p) => backend.wasm._free(p),
          stackBytes: STACK_BYTES,
          workspaceBytes: km.gemmWorkspaceBytes,
        });
      } catch (e) {
        km.dispose();
        throw e;
      }
    }
    return km;
  }

  /** Threads a kernel call may use, this one included. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** The GEMM workspace of part `i` of a parallel call (part 0 runs here). */
  partWorkspace(i: number): number {
    return i === 0 ? this.gemmWorkspace : this.pool!.workspace(i - 1);
  }

  /**
   * Runs export `fn` once per part, in parallel when there is more than one part (at most
   * `threads`); part 0 on this thread. Returns when every part is done.
   */
  parallel(fn: PoolExport, parts: readonly (readonly number[])[]): void {
    const local = (this.exports as unknown as Record<string, (...a: number[]) => void>)[fn];
    if (parts.length === 1 || this.pool == null) {
      for (const p of parts) local(...p);
      return;
    }
    this.pool.run(fn, parts, local);
  }

  /** Byte offset of the GEMM workspace (16-byte aligned). */
  get gemmWorkspace(): number {
    return (this.gemmWs + 15) & ~15;
  }

  /** Writes small int arrays into the argument area; returns their byte offsets. */
  writeArgs(...arrays: ArrayLike<number>[]): number[] {
    return this.writePartArgs(0, ...arrays);
  }

  /** writeArgs for part `part` of a parallel call (each part has its own area). */
  writePartArgs(part: number, ...arrays: ArrayLike<number>[]): number[] {
    const heap = new Int32Array(this.memory.buffer);
    const offsets: number[] = [];
    const start = (this.argsPtr >>> 2) + part * ARGS_INTS;
    let p = start;
    for (const arr of arrays) {
      if (p + arr.length > start + ARGS_INTS) throw new Error('wasm-kernels: argument area overflow');
      offsets.push(p << 2);
      for (let i = 0; i < arr.length; i++) heap[p++] = arr[i];
    }
    return offsets;
  }

  /** Frees the workspace (the module itself is garbage collected). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // A backend that was disposed has no module left to free into.
    this.pool?.dispose(this.backend.wasm != null);
    this.pool = null;
    if (this.backend.wasm == null) return;
    this.backend.wasm._free(this.stackPtr);
    this.backend.wasm._free(this.gemmWs);
    this.backend.wasm._free(this.argsPtr);
  }
}
