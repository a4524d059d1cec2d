/**
 * Named parameters. Every model in dino-ts keeps its trainable tensors in a `Params` map whose
 * keys are the PyTorch reference's state-dict names (`blocks.0.attn.qkv.weight`) and whose
 * layouts are the reference's (Linear weights [out, in]), so weights move between this project
 * and PyTorch without renaming or transposing.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from './safetensors';
import { ShapeError } from './errors';
import type { Rng } from './rng';

export type Params = Map<string, tf.Variable>;

/**
 * Anything that owns named parameters (backbone, head, a whole student). Every `Module`
 * satisfies it; a third-party backbone may implement it directly.
 */
export interface HasParams {
  /**
   * The parameters (trainable, and frozen ones with `v.trainable` false), in the reference's
   * state-dict order. Buffers (running statistics) are not parameters.
   */
  params(): Params;
}

let uid = 0;
function varName(name: string): string {
  // tfjs variable names must be unique per engine; the Params key keeps the reference name.
  return `${name}__${uid++}`;
}

export function variable(name: string, value: tf.Tensor, trainable = true): tf.Variable {
  return tf.variable(value, trainable, varName(name));
}

/** Truncated-normal initialised variable (timm / reference `trunc_normal_(std=0.02)`). */
export function truncNormalVariable(name: string, shape: number[], rng: Rng, std = 0.02): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tidy(() => variable(name, tf.tensor(rng.truncNormalArray(n, std), shape)));
}

export function zerosVariable(name: string, shape: number[]): tf.Variable {
  return tf.tidy(() => variable(name, tf.zeros(shape)));
}

export function onesVariable(name: string, shape: number[]): tf.Variable {
  return tf.tidy(() => variable(name, tf.ones(shape)));
}

/**
 * One map of several, names checked for duplicates (e.g. a backbone's parameters and buffers,
 * to load a checkpoint into both). Composing models needs no merging: a parent `Module`'s
 * `params()` already holds its children's under their prefixes.
 */
export function mergeParams(...parts: Params[]): Params {
  const out: Params = new Map();
  for (const p of parts) for (const [k, v] of p) {
    if (out.has(k)) throw new Error(`mergeParams: duplicate parameter name "${k}"`);
    out.set(k, v);
  }
  return out;
}

export function countParams(params: Params): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}

/** Reads every parameter to host memory as named float32 arrays (for safetensors). */
export async function paramsToArrays(params: Params): Promise<Record<string, NamedArray>> {
  const out: Record<string, NamedArray> = {};
  for (const [k, v] of params) {
    out[k] = { dtype: 'F32', shape: v.shape.slice(), data: (await v.data()) as Float32Array };
  }
  return out;
}

/**
 * Assigns named arrays to the parameters, checking every name and shape. With `strict` (the
 * default) a missing or unexpected name is an error that lists them.
 */
export function loadParams(
  params: Params,
  arrays: Record<string, NamedArray>,
  opts: { strict?: boolean; source?: string } = {},
): void {
  const { strict = true, source = 'weights' } = opts;
  const missing = [...params.keys()].filter((k) => !(k in arrays));
  const unexpected = Object.keys(arrays).filter((k) => !params.has(k));
  if (strict && (missing.length || unexpected.length)) {
    throw new ShapeError(
      `${source}: names do not match the model. ` +
        (missing.length ? `Missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` (+${missing.length - 8})` : ''}. ` : '') +
        (unexpected.length ? `Unexpected: ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` (+${unexpected.length - 8})` : ''}.` : ''),
    );
  }
  for (const [k, v] of params) {
    const a = arrays[k];
    if (!a) continue;
    if (a.shape.length !== v.shape.length || a.shape.some((d, i) => d !== v.shape[i])) {
      throw new ShapeError(`${source}: "${k}" has shape [${a.shape}] but the model expects [${v.shape}]`);
    }
    const data = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>, Number);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
  }
}

/** Copies values from `src` into `dst` (same names and shapes), e.g. teacher <- student. */
export function copyParams(dst: Params, src: Params): void {
  for (const [k, v] of dst) {
    const s = src.get(k);
    if (!s) throw new ShapeError(`copyParams: source has no parameter "${k}"`);
    v.assign(s);
  }
}

export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}
