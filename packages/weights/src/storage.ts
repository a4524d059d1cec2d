/**
 * PyTorch storages and the tensors that view them. A pickled tensor is
 * `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: a strided view into a flat storage
 * whose bytes live outside the pickle (a zip entry, or the tail of a legacy file). The bytes are
 * read after the pickle, so a tensor starts as a NamedArray shell that `fillTensors` completes.
 */
import {
  DataError,
  bfloat16ToFloat32Array,
  float16ToFloat32Array,
  type FileDtype,
  type NamedArray,
  type SafeDtype,
} from '@dino-ts/core';

/** The storage classes a state dict uses, with the dtype they hold. */
export const STORAGE_TYPES = {
  FloatStorage: { file: 'F32', bytes: 4 },
  DoubleStorage: { file: 'F64', bytes: 8 },
  HalfStorage: { file: 'F16', bytes: 2 },
  BFloat16Storage: { file: 'BF16', bytes: 2 },
  LongStorage: { file: 'I64', bytes: 8 },
  IntStorage: { file: 'I32', bytes: 4 },
  ShortStorage: { file: 'I16', bytes: 2 },
  CharStorage: { file: 'I8', bytes: 1 },
  ByteStorage: { file: 'U8', bytes: 1 },
  BoolStorage: { file: 'BOOL', bytes: 1 },
} as const satisfies Record<string, { file: FileDtype; bytes: number }>;

export type StorageTypeName = keyof typeof STORAGE_TYPES;

/** The storage class a file dtype is written as. */
export const STORAGE_OF_DTYPE: Record<FileDtype, StorageTypeName> = {
  F32: 'FloatStorage',
  F64: 'DoubleStorage',
  F16: 'HalfStorage',
  BF16: 'BFloat16Storage',
  I64: 'LongStorage',
  I32: 'IntStorage',
  I16: 'ShortStorage',
  I8: 'CharStorage',
  U8: 'ByteStorage',
  BOOL: 'BoolStorage',
};

/** One storage of a file: its type, its key, its length in elements, and (once read) its bytes. */
export interface Storage {
  type: StorageTypeName;
  key: string;
  numel: number;
  /** The storage's bytes, numel * element size long; set when the file's data is read. */
  bytes?: Uint8Array;
  /** Legacy views: this storage is `numel` elements of `base` from element `offset`. */
  view?: { base: Storage; offset: number };
}

interface PendingTensor {
  array: NamedArray;
  storage: Storage;
  offset: number;
  size: number[];
  stride: number[];
}

/** Collects tensor shells during unpickling and fills them once the storages are read. */
export class TensorBuilder {
  private readonly pending: PendingTensor[] = [];

  constructor(private readonly source: string) {}

  /** A tensor shell (empty data until `fill`); validates the geometry now, bounds later. */
  rebuild(storage: Storage, offset: number, size: number[], stride: number[]): NamedArray {
    const { file } = STORAGE_TYPES[storage.type];
    if (size.length !== stride.length) {
      throw new DataError(`${this.source}: a tensor has size [${size}] but stride [${stride}]; the pickle is corrupt`, this.source);
    }
    const dtype: SafeDtype = file === 'F16' || file === 'BF16' ? 'F32' : file;
    const array: NamedArray = { dtype, shape: size.slice(), data: new Float32Array(0) };
    if (file === 'F16' || file === 'BF16') array.sourceDtype = file;
    this.pending.push({ array, storage, offset, size, stride });
    return array;
  }

  /** Copies every tensor's elements out of its storage (byte order `littleEndian` or not). */
  fill(littleEndian: boolean): void {
    for (const p of this.pending) p.array.data = this.materialise(p, littleEndian);
    this.pending.length = 0;
  }

  private materialise(p: PendingTensor, littleEndian: boolean): NamedArray['data'] {
    let storage = p.storage;
    let offset = p.offset;
    while (storage.view) {
      offset += storage.view.offset;
      storage = storage.view.base;
    }
    const { file, bytes: es } = STORAGE_TYPES[p.storage.type];
    const bytes = storage.bytes;
    if (!bytes) throw new DataError(`${this.source}: storage "${storage.key}" is referenced but its data is missing`, this.source);
    const numel = p.size.reduce((a, b) => a * b, 1);
    // The furthest element the view touches must lie inside the storage (torch checks the same).
    let last = offset;
    for (let d = 0; d < p.size.length; d++) if (p.size[d] > 0) last += (p.size[d] - 1) * p.stride[d];
    const storageLen = bytes.length / STORAGE_TYPES[storage.type].bytes;
    if (numel > 0 && (offset < 0 || last >= storageLen)) {
      throw new DataError(
        `${this.source}: a tensor [${p.size}] at offset ${offset} with stride [${p.stride}] reaches past its storage "${storage.key}" of ${storageLen} elements`,
        this.source,
      );
    }
    const out = new Uint8Array(numel * es);
    if (numel > 0) {
      if (isContiguous(p.size, p.stride)) {
        out.set(bytes.subarray(offset * es, (offset + numel) * es));
      } else {
        copyStrided(bytes, out, offset, p.size, p.stride, es);
      }
    }
    if (!littleEndian && es > 1) swapBytes(out, es);
    return typed(file, out.buffer);
  }
}

/** Row-major contiguity, ignoring the strides of dimensions of size 1 (as torch does). */
function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] === 1) continue;
    if (stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

/** Gathers a strided view element by element into `out` (row-major). */
function copyStrided(src: Uint8Array, out: Uint8Array, offset: number, size: number[], stride: number[], es: number): void {
  const rank = size.length;
  const index = new Array<number>(rank).fill(0);
  const numel = out.length / es;
  let pos = offset;
  for (let i = 0; i < numel; i++) {
    const from = pos * es;
    for (let b = 0; b < es; b++) out[i * es + b] = src[from + b];
    // Odometer increment of the multi-index, keeping `pos` in step.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      pos += stride[d];
      if (index[d] < size[d]) break;
      pos -= stride[d] * size[d];
      index[d] = 0;
    }
  }
}

function swapBytes(b: Uint8Array, es: number): void {
  for (let i = 0; i < b.length; i += es) {
    for (let lo = i, hi = i + es - 1; lo < hi; lo++, hi--) {
      const t = b[lo];
      b[lo] = b[hi];
      b[hi] = t;
    }
  }
}

/** The NamedArray data for a file dtype over an owned buffer (half floats widened to F32). */
function typed(file: FileDtype, buf: ArrayBuffer): NamedArray['data'] {
  switch (file) {
    case 'F32':
      return new Float32Array(buf);
    case 'F64':
      return new Float64Array(buf);
    case 'F16':
      return float16ToFloat32Array(new Uint16Array(buf));
    case 'BF16':
      return bfloat16ToFloat32Array(new Uint16Array(buf));
    case 'I64':
      return new BigInt64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'I16':
      return new Int16Array(buf);
    case 'I8':
      return new Int8Array(buf);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf);
  }
}
