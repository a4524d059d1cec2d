/**
 * The values a PyTorch pickle holds once read, and what `writePth` accepts: Python's data types
 * mapped onto JavaScript without loss where it matters for checkpoints.
 *
 * - `None` is `null`, `bool` a boolean, `str` a string, `bytes` a Uint8Array.
 * - `int` is a number when it is a safe integer, otherwise a bigint (e.g. the legacy format's
 *   magic number); `float` is a number. When writing, an integral number is written as an `int`
 *   (Python treats `3` and `3.0` alike wherever a checkpoint uses them) unless wrapped in
 *   `PyFloat`.
 * - `list` is an array; `tuple` a `PickleTuple` (optimizer betas, crop scales).
 * - `dict` and `OrderedDict` are a `Map`, so integer keys (the optimizer's `state` is keyed by
 *   parameter index) and key order survive. Plain objects are accepted when writing: a dict
 *   with string keys.
 * - A tensor is a `NamedArray` of @dino-ts/core (dtype, shape, row-major data).
 * - `argparse.Namespace` (the `args` of a reference training checkpoint) is read as a plain
 *   object of its attributes.
 */
import type { NamedArray } from '@dino-ts/core';

/** A Python tuple. */
export class PickleTuple {
  readonly items: PickleValue[];
  constructor(items: Iterable<PickleValue>) {
    this.items = [...items];
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<PickleValue> {
    return this.items[Symbol.iterator]();
  }
}

/** A Python float whose value is integral (`3.0`): written with BINFLOAT instead of as an int. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** What a dict key can be (Python requires hashable keys; these are the hashable data types). */
export type PickleKey = string | number | bigint | boolean | null | PickleTuple;

/** A Python dict or OrderedDict, in insertion order. */
export type PickleDict = Map<PickleKey, PickleValue>;

/** Attribute storage (argparse.Namespace when read; a str-keyed dict when written). */
export interface PickleObject {
  [name: string]: PickleValue;
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyFloat
  | NamedArray
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | Set<PickleKey>
  | PickleObject;

const TYPED_ARRAY_TAGS = new Set([
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Uint8Array',
  'Int16Array',
  'Int32Array',
  'BigInt64Array',
]);

/** Whether `v` is a NamedArray (a tensor) rather than a container that happens to be an object. */
export function isNamedArray(v: unknown): v is NamedArray {
  if (typeof v !== 'object' || v === null || v instanceof Map || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.dtype === 'string' &&
    Array.isArray(o.shape) &&
    ArrayBuffer.isView(o.data) &&
    TYPED_ARRAY_TAGS.has((o.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag])
  );
}

/** Whether `v` is a plain object (a dict with string keys, or a Namespace read from a pickle). */
export function isPlainObject(v: unknown): v is PickleObject {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && !isNamedArray(v);
}

/**
 * The entries of a dict-like value (Map or plain object) as [key, value] pairs, or undefined
 * when `v` is not dict-like.
 */
export function dictEntries(v: unknown): Array<[PickleKey, PickleValue]> | undefined {
  if (v instanceof Map) return [...(v as PickleDict).entries()];
  if (isPlainObject(v)) return Object.keys(v).map((k) => [k, v[k]]);
  return undefined;
}

/** A short description of a value's Python type, for messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'None';
  if (v === undefined) return 'undefined';
  if (typeof v === 'boolean') return 'a bool';
  if (typeof v === 'number' || typeof v === 'bigint') return Number.isInteger(Number(v)) ? 'an int' : 'a float';
  if (typeof v === 'string') return 'a str';
  if (v instanceof PyFloat) return 'a float';
  if (isNamedArray(v)) return `a tensor ${v.dtype} [${v.shape.join(', ')}]`;
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PickleTuple) return 'a tuple';
  if (v instanceof Map) return 'a dict';
  if (v instanceof Set) return 'a set';
  if (isPlainObject(v)) return 'an object';
  return typeof v;
}
