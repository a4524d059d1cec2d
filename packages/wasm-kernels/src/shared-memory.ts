/**
 * Shared WebAssembly memory, which is what lets kernels run on several threads without copying a
 * tensor: every thread instantiates the kernel module on the one memory that tfjs-backend-wasm
 * keeps its tensors in.
 *
 * Where that memory comes from:
 * - Browsers (cross-origin isolated pages): tfjs-backend-wasm picks its multi-threaded SIMD
 *   build, whose memory is already shared (prepareWasmThreads() finds it).
 * - Node: tfjs switches that build off (its pthread workers are created from blob: URLs, which
 *   Node's worker_threads refuse), and its SIMD build defines an unshared memory. A memory's
 *   "shared" flag is one bit of the module's binary, and the SIMD build never relies on the
 *   memory being unshared (it already declares tfjs's 4 GiB maximum, which a shared memory
 *   needs), so `prepareWasmThreads()` flips that bit while the backend instantiates. The
 *   backend's code is unchanged; only its memory becomes a SharedArrayBuffer.
 *
 * The kernel module itself is built with an explicit maximum for the same reason and gets the
 * same one-bit change when the memory it joins is shared.
 */
import { nodeProcess } from './node-env';

/** Section ids of the WebAssembly binary format. */
const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const EXTERNAL_MEMORY = 2;
/** Limits flags: bit 0 has-maximum, bit 1 shared. */
const HAS_MAX = 1;
const SHARED = 2;

class Reader {
  p: number;
  constructor(readonly b: Uint8Array, p = 0) {
    this.p = p;
  }
  u32(): number {
    let result = 0, shift = 0, byte: number;
    do {
      byte = this.b[this.p++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return result >>> 0;
  }
  skipName(): void {
    const len = this.u32();
    this.p += len;
  }
  skipLimits(): void {
    const flags = this.b[this.p++];
    this.u32();
    if (flags & HAS_MAX) this.u32();
  }
}

/**
 * Byte offsets of the limits-flags byte of every memory the module imports or defines.
 * Throws on a binary that is not WebAssembly.
 */
export function memoryFlagOffsets(bytes: Uint8Array): number[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('shared memory: not a WebAssembly binary');
  }
  const r = new Reader(bytes, 8);
  const offsets: number[] = [];
  while (r.p < bytes.length) {
    const id = bytes[r.p++];
    const size = r.u32();
    const end = r.p + size;
    if (id === SECTION_IMPORT) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        r.skipName();
        r.skipName();
        const kind = bytes[r.p++];
        if (kind === 0) r.u32(); // function: type index
        else if (kind === 1) {
          r.p++; // table: element type
          r.skipLimits();
        } else if (kind === EXTERNAL_MEMORY) {
          offsets.push(r.p);
          r.skipLimits();
        } else if (kind === 3) r.p += 2; // global: value type, mutability
        else if (kind === 4) {
          r.p++; // tag: attribute
          r.u32();
        } else throw new Error(`shared memory: unknown import kind ${kind}`);
      }
    } else if (id === SECTION_MEMORY) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        offsets.push(r.p);
        r.skipLimits();
      }
    }
    r.p = end;
  }
  return offsets;
}

/**
 * A copy of `bytes` whose memories are shared. Each must declare a maximum (a shared memory
 * must have one, and adding it would re-encode the section); returns null when one does not.
 */
export function withSharedMemory(bytes: Uint8Array): Uint8Array | null {
  const offsets = memoryFlagOffsets(bytes);
  if (offsets.length === 0 || offsets.some((o) => (bytes[o] & HAS_MAX) === 0)) return null;
  const out = bytes.slice();
  for (const o of offsets) out[o] |= SHARED;
  return out;
}

/** True when `memory` is a shared WebAssembly memory (its buffer a SharedArrayBuffer). */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * tfjs-backend-wasm's SIMD build as emscripten emits it (its export names are minified, so the
 * memory identifies it): one unshared memory with tfjs's 4 GiB maximum, in a large module.
 */
function looksLikeTfjsBackend(bytes: Uint8Array): boolean {
  const offsets = memoryFlagOffsets(bytes);
  if (offsets.length !== 1) return false;
  const r = new Reader(bytes, offsets[0]);
  const flags = bytes[r.p++];
  r.u32();
  const max = flags & HAS_MAX ? r.u32() : -1;
  return (flags & SHARED) === 0 && max === 65536 && bytes.length > 100_000;
}

let preparing: { restore(): void } | null = null;

/**
 * Shared memories handed to a module being instantiated while prepareWasmThreads() watched:
 * tfjs's threaded build creates its memory in its glue code and keeps it in a local variable,
 * so the import is the one place it can be found.
 */
const captured: WebAssembly.Memory[] = [];

/** The shared memories seen in instantiations (see prepareWasmThreads). */
export function capturedMemories(): readonly WebAssembly.Memory[] {
  return captured;
}

function captureFrom(imports: WebAssembly.Imports | undefined): boolean {
  let found = false;
  for (const mod of Object.values(imports ?? {})) {
    for (const v of Object.values(mod ?? {})) {
      if (v instanceof WebAssembly.Memory && isSharedMemory(v) && !captured.includes(v)) {
        captured.push(v);
        found = true;
      }
    }
  }
  return found;
}

/**
 * Prepares the next initialisation of tfjs-backend-wasm for kernels on several threads; call it
 * before `tf.setBackend('wasm')` / `tf.ready()`. It watches `WebAssembly.instantiate` (and, in
 * browsers, `instantiateStreaming`) until the backend's module has been instantiated, then
 * restores them; other modules pass through untouched.
 * - Node: the SIMD build is instantiated with its memory made shared (see above).
 * - Browsers (cross-origin isolated pages): tfjs loads its threaded build by itself; this
 *   remembers the shared memory that build is given, which its glue code does not expose.
 *
 * Returns false where threads cannot run: no SharedArrayBuffer (a page that is not
 * cross-origin isolated).
 *
 * @example
 * ```ts
 * prepareWasmThreads();
 * await tf.setBackend('wasm');
 * await registerWasmKernels({ threads: 2 });
 * ```
 */
export function prepareWasmThreads(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if (preparing != null) return true;
  const isNode = nodeProcess() != null;
  const original = WebAssembly.instantiate;
  const originalStreaming = WebAssembly.instantiateStreaming;
  const restore = (): void => {
    if (WebAssembly.instantiate === wrapped) WebAssembly.instantiate = original;
    if (originalStreaming != null && WebAssembly.instantiateStreaming === wrappedStreaming) {
      WebAssembly.instantiateStreaming = originalStreaming;
    }
    preparing = null;
  };
  const wrapped = function instantiate(source: unknown, imports?: WebAssembly.Imports): Promise<unknown> {
    if (!isNode && captureFrom(imports)) restore();
    if (isNode && (source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
      const view = source instanceof ArrayBuffer
        ? new Uint8Array(source)
        : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      if (looksLikeTfjsBackend(view)) {
        const shared = withSharedMemory(view);
        restore();
        if (shared != null) return original(shared as BufferSource, imports);
      }
    }
    return (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
  } as typeof WebAssembly.instantiate;
  const wrappedStreaming = function instantiateStreaming(source: Response | PromiseLike<Response>, imports?: WebAssembly.Imports) {
    if (captureFrom(imports)) restore();
    return originalStreaming.call(WebAssembly, source, imports);
  } as typeof WebAssembly.instantiateStreaming;
  WebAssembly.instantiate = wrapped;
  if (!isNode && originalStreaming != null) WebAssembly.instantiateStreaming = wrappedStreaming;
  preparing = { restore };
  return true;
}

/** Undoes a `prepareWasmThreads()` whose backend was never initialised. */
export function cancelPrepareWasmThreads(): void {
  preparing?.restore();
}
