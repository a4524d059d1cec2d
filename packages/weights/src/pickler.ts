/**
 * A pickle writer for `writePth`: protocol 2 (torch.save's), using only the opcodes and globals
 * that `torch.load(weights_only=True)` accepts, so a written file never needs the full unpickler.
 * No memo is written: PyTorch's weights-only reader needs none, and storages are shared by key.
 */
import { ConfigError, float32ToFloat16Array, type FileDtype, type NamedArray, DTYPE_ARRAY_TAG } from '@dino-ts/core';
import { STORAGE_OF_DTYPE } from './storage';
import { PickleTuple, PyFloat, describeValue, isNamedArray, isPlainObject, type PickleKey, type PickleValue } from './values';
import type { PthFloatDtype } from './pth';

export interface PickleOutput {
  pickle: Uint8Array;
  /** Storage bytes by key, in key order. */
  storages: Array<{ key: string; bytes: Uint8Array }>;
}


class Bytes {
  private buf = new Uint8Array(1024);
  length = 0;

  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(...bs: number[]): void {
    this.grow(bs.length);
    for (const b of bs) this.buf[this.length++] = b;
  }

  raw(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  u32(v: number): void {
    this.grow(4);
    new DataView(this.buf.buffer).setUint32(this.length, v, true);
    this.length += 4;
  }

  i32(v: number): void {
    this.grow(4);
    new DataView(this.buf.buffer).setInt32(this.length, v, true);
    this.length += 4;
  }

  f64be(v: number): void {
    this.grow(8);
    new DataView(this.buf.buffer).setFloat64(this.length, v, false);
    this.length += 8;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const encoder = new TextEncoder();

/** Pickles `value` (protocol 2) with tensors as persistent storage references. */
export function pickleValue(value: PickleValue, opts: { floatDtype: PthFloatDtype | ((path: string, array: NamedArray) => PthFloatDtype) }): PickleOutput {
  const out = new Bytes();
  const storages: PickleOutput['storages'] = [];
  const storageOf = new Map<NamedArray, { key: string; type: string; numel: number }>();
  const active = new Set<unknown>(); // containers on the current path: a cycle cannot be pickled

  const global = (module: string, name: string) => {
    out.byte(0x63); // GLOBAL
    out.raw(encoder.encode(`${module}\n${name}\n`));
  };
  const str = (s: string) => {
    const b = encoder.encode(s);
    out.byte(0x58); // BINUNICODE
    out.u32(b.length);
    out.raw(b);
  };
  const int = (v: number | bigint) => {
    if (typeof v === 'number' && v >= 0 && v < 256) out.byte(0x4b, v); // BININT1
    else if (typeof v === 'number' && v >= 0 && v < 65536) out.byte(0x4d, v & 0xff, v >> 8); // BININT2
    else if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
      out.byte(0x4a); // BININT
      out.i32(v);
    } else {
      // LONG1: little-endian two's complement, as short as the sign bit allows.
      let x = BigInt(v);
      const bytes: number[] = [];
      for (;;) {
        bytes.push(Number(x & 0xffn));
        x >>= 8n; // arithmetic shift: a negative number tends to -1
        const top = bytes[bytes.length - 1] & 0x80;
        if ((x === 0n && !top) || (x === -1n && top)) break;
      }
      out.byte(0x8a, bytes.length, ...bytes);
    }
  };
  const tuple = (items: Array<() => void>) => {
    if (items.length === 0) return out.byte(0x29); // EMPTY_TUPLE
    if (items.length > 3) out.byte(0x28); // MARK
    for (const write of items) write();
    out.byte(items.length === 1 ? 0x85 : items.length === 2 ? 0x86 : items.length === 3 ? 0x87 : 0x74);
  };

  const tensor = (a: NamedArray, path: string) => {
    checkArray(a, path);
    let s = storageOf.get(a);
    if (!s) {
      const { bytes, stored } = storageBytes(a, path, opts.floatDtype);
      s = { key: String(storages.length), type: STORAGE_OF_DTYPE[stored], numel: a.data.length };
      storages.push({ key: s.key, bytes });
      storageOf.set(a, s);
    }
    const storage = s;
    const strides = contiguousStrides(a.shape);
    // torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
    global('torch._utils', '_rebuild_tensor_v2');
    out.byte(0x28); // MARK
    tuple([() => str('storage'), () => global('torch', storage.type), () => str(storage.key), () => str('cpu'), () => int(storage.numel)]);
    out.byte(0x51); // BINPERSID
    int(0);
    tuple(a.shape.map((d) => () => int(d)));
    tuple(strides.map((d) => () => int(d)));
    out.byte(0x89); // NEWFALSE: requires_grad
    global('collections', 'OrderedDict');
    out.byte(0x29, 0x52); // EMPTY_TUPLE, REDUCE: no backward hooks
    out.byte(0x74, 0x52); // TUPLE, REDUCE
  };

  const key = (k: PickleKey, path: string) => {
    if (k === null || typeof k === 'boolean' || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || k instanceof PickleTuple) return write(k, path);
    throw new ConfigError(path, describeValue(k), 'dict keys must be strings, numbers, booleans, None or tuples');
  };

  const write = (v: PickleValue, path: string): void => {
    if (v === null) return out.byte(0x4e); // NONE
    if (v === true) return out.byte(0x88); // NEWTRUE
    if (v === false) return out.byte(0x89); // NEWFALSE
    if (typeof v === 'string') return str(v);
    if (typeof v === 'bigint') return int(v);
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return int(v);
      out.byte(0x47); // BINFLOAT
      return out.f64be(v);
    }
    if (v instanceof PyFloat) {
      out.byte(0x47);
      return out.f64be(v.value);
    }
    if (isNamedArray(v)) return tensor(v, path);
    if (typeof v !== 'object') throw new ConfigError(path, describeValue(v), 'cannot be pickled (use null for None)');
    if (v instanceof Uint8Array) throw new ConfigError(path, 'bytes', "are not written: torch.load(weights_only=True) reads no bytes objects; store a U8 tensor instead");
    if (v instanceof Set) throw new ConfigError(path, 'a set', 'is not written: torch.load(weights_only=True) cannot read sets with items; use a list');
    if (active.has(v)) throw new ConfigError(path, 'a container that contains itself', 'cannot be written');
    active.add(v);
    if (Array.isArray(v)) {
      out.byte(0x5d); // EMPTY_LIST
      if (v.length > 0) {
        out.byte(0x28); // MARK
        v.forEach((item, i) => write(item, `${path}[${i}]`));
        out.byte(0x65); // APPENDS
      }
    } else if (v instanceof PickleTuple) {
      tuple(v.items.map((item, i) => () => write(item, `${path}[${i}]`)));
    } else if (v instanceof Map) {
      out.byte(0x7d); // EMPTY_DICT
      if (v.size > 0) {
        out.byte(0x28);
        for (const [k, item] of v) {
          key(k, path);
          write(item, join(path, k));
        }
        out.byte(0x75); // SETITEMS
      }
    } else if (isPlainObject(v)) {
      const keys = Object.keys(v);
      out.byte(0x7d);
      if (keys.length > 0) {
        out.byte(0x28);
        for (const k of keys) {
          str(k);
          write(v[k], join(path, k));
        }
        out.byte(0x75);
      }
    } else {
      throw new ConfigError(path, describeValue(v), 'cannot be pickled: use dicts (Map or plain objects), arrays, PickleTuple, numbers, strings, booleans, null or NamedArrays');
    }
    active.delete(v);
  };

  out.byte(0x80, 2); // PROTO 2
  write(value, '');
  out.byte(0x2e); // STOP
  return { pickle: out.done(), storages };
}

function join(path: string, k: PickleKey): string {
  const s = k instanceof PickleTuple ? `(${k.items.join(', ')})` : String(k);
  return path ? `${path}.${s}` : s;
}

function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

function checkArray(a: NamedArray, path: string): void {
  const name = path || 'value';
  if (!Object.prototype.hasOwnProperty.call(DTYPE_ARRAY_TAG, a.dtype)) throw new ConfigError(name, a.dtype, `must be one of ${Object.keys(DTYPE_ARRAY_TAG).join(', ')}`);
  const tag = (a.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
  if (tag !== DTYPE_ARRAY_TAG[a.dtype as keyof typeof DTYPE_ARRAY_TAG]) throw new ConfigError(name, `${a.dtype} data in a ${tag}`, `needs a ${DTYPE_ARRAY_TAG[a.dtype as keyof typeof DTYPE_ARRAY_TAG]}`);
  if (!a.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ConfigError(name, `shape [${a.shape}]`, 'must be non-negative integers');
  const n = a.shape.reduce((x, y) => x * y, 1);
  if (n !== a.data.length) throw new ConfigError(name, `shape [${a.shape}] with ${a.data.length} values`, `needs ${n} values`);
}

/** The bytes of a tensor's storage and the dtype they are stored as. */
function storageBytes(
  a: NamedArray,
  path: string,
  floatDtype: PthFloatDtype | ((path: string, array: NamedArray) => PthFloatDtype),
): { bytes: Uint8Array; stored: FileDtype } {
  if (a.dtype === 'F32') {
    const want = typeof floatDtype === 'function' ? floatDtype(path, a) : floatDtype;
    if (want !== 'F32' && want !== 'F16' && want !== 'BF16') throw new ConfigError(`floatDtype("${path}")`, want, 'must be "F32", "F16" or "BF16"');
    if (want === 'F16') return { bytes: new Uint8Array(float32ToFloat16Array(a.data as Float32Array).buffer), stored: 'F16' };
    if (want === 'BF16') return { bytes: new Uint8Array(float32ToBfloat16Array(a.data as Float32Array).buffer), stored: 'BF16' };
  }
  const d = a.data;
  // A copy: the storage must not alias (or be misaligned in) the caller's buffer.
  const bytes = new Uint8Array(d.byteLength);
  bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  return { bytes, stored: a.dtype };
}

/**
 * bfloat16 bits nearest to each float32 (round to nearest, ties to even, as torch's
 * `.bfloat16()`); NaN stays a quiet NaN.
 */
export function float32ToBfloat16Array(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const f = bits[i];
    if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) {
      out[i] = (f >>> 16) | 0x40;
      continue;
    }
    out[i] = (f + 0x7fff + ((f >>> 16) & 1)) >>> 16;
  }
  return out;
}
