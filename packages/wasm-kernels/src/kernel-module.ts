/**
 * The compiled kernel module (csrc/*.c -> wasm/dino-kernels.wasm), instantiated on the memory of
 * one tfjs-backend-wasm instance so kernels read inputs and write outputs in place.
 *
 * The module has no data segment and no memory of its own; what it needs beyond the tensors (a
 * shadow stack, GEMM packing buffers, small argument arrays) is allocated here with the backend's
 * own `_malloc`, so it never collides with the backend's heap.
 */
import { WASM_BINARY_BASE64, WASM_RELAXED_GEMM_BASE64 } from './wasm-binary.generated';
import { backendMemory, type WasmBackendLike } from './wasm-backend';

/** Functions the module exports (pointers are byte offsets, strides are in elements). */
export interface KernelExports {
  gemm_workspace_floats(): number;
  gemm_batched(
    batch: number, m: number, n: number, k: number,
    a: number, sa: number, ars: number, acs: number,
    b: number, sb: number, brs: number, bcs: number,
    c: number, ws: number,
  ): void;
  bias_activation(c: number, rows: number, n: number, bias: number, biasMode: number, biasRows: number, act: number, alpha: number): void;
  transpose32(input: number, output: number, rank: number, shape: number, perm: number): void;
  unary_f32(x: number, y: number, n: number, op: number): void;
  binary_f32(op: number, a: number, b: number, out: number, rank: number, shape: number, astride: number, bstride: number): void;
  reduce_f32(op: number, x: number, out: number, rank: number, shape: number, reduced: number, scale: number): void;
  slice32(x: number, out: number, rank: number, shape: number, begin: number, size: number): void;
  copy_rows32(x: number, out: number, rows: number, n: number, ldo: number): void;
  __stack_pointer: WebAssembly.Global;
}

const STACK_BYTES = 64 * 1024;
/** Room for the small int32 argument arrays (shapes, permutations) passed to kernels. */
const ARGS_INTS = 64;

let compiled: Promise<WebAssembly.Module> | null = null;
let compiledRelaxed: Promise<WebAssembly.Module | null> | null = null;

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

/** Compiles the embedded module once per process. */
export function compileKernelModule(): Promise<WebAssembly.Module> {
  if (compiled == null) {
    compiled = WebAssembly.compile(decodeBase64(WASM_BINARY_BASE64) as BufferSource);
  }
  return compiled;
}

/**
 * The relaxed-SIMD GEMM module, or null where the engine lacks relaxed SIMD (validation fails,
 * e.g. Node 20 without --experimental-wasm-relaxed-simd). A success is kept for the process; a
 * failure is re-checked on the next call (the engine flag may have been switched on since).
 */
export function compileRelaxedGemmModule(): Promise<WebAssembly.Module | null> {
  if (compiledRelaxed == null) {
    const bytes = decodeBase64(WASM_RELAXED_GEMM_BASE64) as BufferSource;
    if (!WebAssembly.validate(bytes)) return Promise.resolve(null);
    compiledRelaxed = WebAssembly.compile(bytes);
  }
  return compiledRelaxed;
}

interface NodeProcessLike {
  getBuiltinModule?(id: string): unknown;
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
  const bytes = decodeBase64(WASM_RELAXED_GEMM_BASE64) as BufferSource;
  if (WebAssembly.validate(bytes)) return true;
  const proc = (globalThis as { process?: NodeProcessLike }).process;
  const v8 = proc?.getBuiltinModule?.('node:v8') as { setFlagsFromString(flags: string): void } | undefined;
  if (v8 == null) return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes);
}

/** Whether this engine runs relaxed SIMD (fused multiply-add) WebAssembly. */
export async function relaxedSimdSupported(): Promise<boolean> {
  return (await compileRelaxedGemmModule()) != null;
}

export interface KernelModuleOptions {
  /** Use the fused multiply-add GEMM where the engine supports relaxed SIMD (default true). */
  relaxedSimd?: boolean;
}

/** The functions the relaxed-SIMD module provides in place of the baseline ones. */
type GemmExports = Pick<KernelExports, 'gemm_batched' | 'bias_activation' | 'gemm_workspace_floats' | '__stack_pointer'>;

export class KernelModule {
  readonly exports: KernelExports;
  readonly backend: WasmBackendLike;
  /** True when GEMM runs the relaxed-SIMD (fused multiply-add) build. */
  readonly relaxedSimd: boolean;
  private readonly memory: WebAssembly.Memory;
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
    const gemm = relaxed?.exports as unknown as GemmExports | undefined;
    if (gemm != null && gemm.gemm_workspace_floats() !== base.gemm_workspace_floats()) {
      throw new Error('wasm-kernels: the relaxed GEMM module was built from other sources');
    }
    this.relaxedSimd = gemm != null;
    this.exports = gemm == null ? base : {
      ...base,
      gemm_batched: gemm.gemm_batched,
      bias_activation: gemm.bias_activation,
    };
    const malloc = (bytes: number): number => {
      const p = backend.wasm._malloc(bytes) >>> 0;
      if (p === 0) throw new Error(`wasm-kernels: out of wasm memory allocating ${bytes} bytes`);
      return p;
    };
    this.stackPtr = malloc(STACK_BYTES);
    // The stack grows down from the (16-byte aligned) top of its region. Both modules may use it:
    // calls never interleave (JavaScript is single-threaded here).
    const top = ((this.stackPtr + STACK_BYTES) & ~15) | 0;
    base.__stack_pointer.value = top;
    if (gemm != null) gemm.__stack_pointer.value = top;
    this.gemmWs = malloc(this.exports.gemm_workspace_floats() * 4 + 64);
    this.argsPtr = malloc(ARGS_INTS * 4);
  }

  /** Instantiates the kernel module(s) on `backend`'s memory. */
  static async create(backend: WasmBackendLike, options: KernelModuleOptions = {}): Promise<KernelModule> {
    const memory = backendMemory(backend);
    if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) {
      // The kernel modules import an unshared memory; the multi-threaded build of the backend
      // (browsers with cross-origin isolation) has a shared one.
      throw new Error(
        'registerWasmKernels: the multi-threaded tfjs-backend-wasm build is not supported; ' +
          "load its SIMD build (e.g. setWasmPaths with 'tfjs-backend-wasm-threaded-simd.wasm' mapped to the SIMD binary)",
      );
    }
    const imports = { env: { memory } };
    const instance = await WebAssembly.instantiate(await compileKernelModule(), imports);
    const relaxedMod = options.relaxedSimd === false ? null : await compileRelaxedGemmModule();
    const relaxed = relaxedMod == null ? null : await WebAssembly.instantiate(relaxedMod, imports);
    return new KernelModule(backend, memory, instance, relaxed);
  }

  /** Byte offset of the GEMM workspace (16-byte aligned). */
  get gemmWorkspace(): number {
    return (this.gemmWs + 15) & ~15;
  }

  /** Writes small int arrays into the argument area; returns their byte offsets. */
  writeArgs(...arrays: ArrayLike<number>[]): number[] {
    const heap = new Int32Array(this.memory.buffer);
    const offsets: number[] = [];
    let p = this.argsPtr >>> 2;
    for (const arr of arrays) {
      if (p + arr.length > (this.argsPtr >>> 2) + ARGS_INTS) throw new Error('wasm-kernels: argument area overflow');
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
    if (this.backend.wasm == null) return;
    this.backend.wasm._free(this.stackPtr);
    this.backend.wasm._free(this.gemmWs);
    this.backend.wasm._free(this.argsPtr);
  }
}
