/** Test-only: loads this package's fixtures (written by scripts/fixtures/make_augment.py). */
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { readFixture } from '@dino-ts/core/testing';
import type { NamedArray } from '@dino-ts/core';

export type Fixture = { tensors: Record<string, NamedArray>; metadata: Record<string, string> };

export function loadFixture(name: string): Fixture {
  return readFixture(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)));
}

/** A fixture tensor as a tfjs tensor of its own shape. */
export function fixtureTensor<R extends tf.Rank>(f: Fixture, key: string): tf.Tensor<R> {
  const t = f.tensors[key];
  if (!t) throw new Error(`fixture has no tensor "${key}"`);
  const dtype = t.dtype === 'I32' ? 'int32' : 'float32';
  return tf.tensor<tf.Rank>(t.data as Float32Array | Int32Array, t.shape, dtype) as tf.Tensor<R>;
}

/** A fixture tensor's values as plain numbers. */
export function fixtureNumbers(f: Fixture, key: string): number[] {
  const t = f.tensors[key];
  if (!t) throw new Error(`fixture has no tensor "${key}"`);
  return Array.from(t.data as ArrayLike<number>);
}

/** Max |a − b| of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
