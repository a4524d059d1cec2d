/**
 * Small helpers for building the values `writePth` writes from dino-ts's flat tensor names.
 */
import { ConfigError, type NamedArray } from '@dino-ts/core';

function define(rec: Record<string, NamedArray>, k: string, v: NamedArray): void {
  Object.defineProperty(rec, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * Splits flat names by their first components into one state dict per prefix, e.g. a dino-ts
 * run's `student.backbone.cls_token`, `teacher.head.mlp.0.weight` with
 * `['student', 'teacher']` into `{ student: { 'backbone.cls_token': ... }, teacher: { ... } }`
 * (the layout of a reference training checkpoint's `student` and `teacher`). A prefix may have
 * dots (`'teacher.backbone'`). Names under none of the prefixes are left out.
 */
export function nestByPrefix(tensors: Record<string, NamedArray>, prefixes: string[]): Record<string, Record<string, NamedArray>> {
  const out: Record<string, Record<string, NamedArray>> = {};
  for (const p of prefixes) {
    if (typeof p !== 'string' || p.length === 0 || p.endsWith('.')) throw new ConfigError('prefix', p, 'must be a non-empty name without a trailing "."');
    out[p] = {};
  }
  // Longest prefix first, so 'teacher.backbone' wins over 'teacher'.
  const ordered = [...prefixes].sort((a, b) => b.length - a.length);
  for (const name of Object.keys(tensors)) {
    const p = ordered.find((q) => name.startsWith(`${q}.`));
    if (p) define(out[p], name.slice(p.length + 1), tensors[name]);
  }
  return out;
}

/**
 * The same tensors with `prefix` in front of every name, e.g. `'module.'` for the student of a
 * reference checkpoint (DistributedDataParallel's names) or `'backbone.'` for a MultiCropWrapper.
 */
export function stateDict(tensors: Record<string, NamedArray>, prefix = ''): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const name of Object.keys(tensors)) define(out, `${prefix}${name}`, tensors[name]);
  return out;
}
