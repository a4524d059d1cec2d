/**
 * The parts of tfjs-backend-wasm 4.x these kernels rely on, typed structurally (the backend's
 * own classes are not part of its public typings). Every tensor of that backend lives in the
 * emscripten module's linear memory; `dataIdMap` maps a tensor's dataId to its byte offset there.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { capturedMemories } from './shared-memory';

export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: DataType;
  refCount: number;
}

export interface EmscriptenModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  /** Emscripten of tfjs 4.x keeps the instance exports, the memory among them, here. */
  asm?: Record<string, unknown>;
  wasmMemory?: WebAssembly.Memory;
  wasmExports?: Record<string, unknown>;
}

export interface WasmBackendLike {
  wasm: EmscriptenModule;
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
}

/** True when `backend` looks like tfjs-backend-wasm's BackendWasm. */
export function isWasmBackend(backend: unknown): backend is WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  return (
    b != null &&
    typeof b.makeOutput === 'function' &&
    b.dataIdMap != null &&
    b.wasm != null &&
    typeof b.wasm._malloc === 'function'
  );
}

/** The WebAssembly.Memory all tensors of `backend` live in. */
export function backendMemory(backend: WasmBackendLike): WebAssembly.Memory {
  const m = backend.wasm;
  const candidates: unknown[] = [m.wasmMemory, ...capturedMemories()];
  for (const exportsObj of [m.asm, m.wasmExports]) {
    if (exportsObj == null) continue;
    candidates.push(exportsObj.memory);
    for (const v of Object.values(exportsObj)) candidates.push(v);
  }
  for (const c of candidates) {
    if (c instanceof WebAssembly.Memory && c.buffer === m.HEAPU8.buffer) return c;
  }
  if (typeof SharedArrayBuffer !== 'undefined' && m.HEAPU8.buffer instanceof SharedArrayBuffer) {
    throw new Error(
      "wasm-kernels: tfjs-backend-wasm runs its threaded build, whose memory only prepareWasmThreads() can find: call it before tf.setBackend('wasm')",
    );
  }
  throw new Error(
    'wasm-kernels: cannot find the WebAssembly.Memory of tfjs-backend-wasm (tested with 4.22); ' +
      'this version of the backend is not supported',
  );
}

/** Byte offset of a tensor in the backend's memory. */
export function offsetOf(backend: WasmBackendLike, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (d == null) throw new Error('wasm-kernels: tensor is not on the wasm backend');
  return d.memoryOffset;
}

/** The wasm heap is full (a user can fix it with smaller batches; not a bug). */
export class WasmOutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmOutOfMemoryError';
  }
}

/** Bytes per element of the dtypes the kernels write. */
const BYTES: Partial<Record<DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * The backend's makeOutput, checked: tfjs-backend-wasm does not look at malloc's result, so a
 * full heap would hand out offset 0 and the kernel would write over the start of memory. The
 * wasm heap has 32-bit addresses (4 GiB at most), which large models reach.
 */
export function makeOutput(backend: WasmBackendLike, shape: number[], dtype: DataType): TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  let size = 1;
  for (const d of shape) size *= d;
  if (size > 0 && offsetOf(backend, out) === 0) {
    const mb = (size * (BYTES[dtype] ?? 4)) / 2 ** 20;
    (backend as unknown as { disposeData(id: object): void }).disposeData(out.dataId);
    throw new WasmOutOfMemoryError(
      `wasm-kernels: out of WebAssembly memory allocating a ${dtype} tensor of shape [${shape}] (${mb.toFixed(1)} MiB); ` +
        'the wasm heap holds at most 4 GiB: use smaller batches (for the trainer, a smaller --micro-batch or --batch-size)',
    );
  }
  return out;
}
