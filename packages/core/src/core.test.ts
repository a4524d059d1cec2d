import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng';
import { encodeSafetensors, decodeSafetensors } from './safetensors';
import { describeBackends, assertClose } from './testing';
import { ConfigError, checkInt, checkNumber, checkChoice, withDefaults } from './errors';
import { loadParams, variable, paramsToArrays, type Params } from './params';
import { isRecordingGradients } from './fused';

describe('Rng', () => {
  it('is deterministic by seed and restorable from its state', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    const xb = Array.from({ length: 5 }, () => b.nextU32());
    expect(xa).toEqual(xb);
    expect(c.nextU32()).not.toBe(xa[0]);
    const st = a.getState();
    const next = [a.next(), a.normal(), a.int(1000)];
    const r = Rng.fromState(st);
    expect([r.next(), r.normal(), r.int(1000)]).toEqual(next);
  });
  it('draws uniform and normal values with the right moments', () => {
    const r = new Rng(7);
    const n = 200_000;
    let su = 0, sn = 0, sn2 = 0;
    for (let i = 0; i < n; i++) {
      su += r.next();
      const z = r.normal();
      sn += z; sn2 += z * z;
    }
    expect(Math.abs(su / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sn / n)).toBeLessThan(0.01);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(0.02);
    const p = r.permutation(100);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('safetensors', () => {
  it('round-trips names, shapes, dtypes and metadata', () => {
    const buf = encodeSafetensors(
      { 'a.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }, b: { dtype: 'I32', shape: [1], data: new Int32Array([-7]) } },
      { epoch: '3' },
    );
    const d = decodeSafetensors(buf);
    expect(d.metadata).toEqual({ epoch: '3' });
    expect(d.tensors['a.weight'].shape).toEqual([2, 3]);
    expect([...d.tensors['a.weight'].data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...d.tensors.b.data]).toEqual([-7]);
  });
  it('names truncated files', () => {
    const buf = encodeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 3), 'x.safetensors')).toThrow(/x.safetensors.*truncated/);
    expect(() => decodeSafetensors(new Uint8Array(3), 'y')).toThrow(/too short/);
  });
});

describe('config checks', () => {
  it('name the parameter and the allowed values', () => {
    expect(() => checkInt('depth', 0, 1)).toThrow(ConfigError);
    expect(() => checkInt('depth', 0, 1)).toThrow(/depth = 0: must be an integer >= 1/);
    expect(() => checkNumber('teacherTemp', 0, { min: 0, minExclusive: true })).toThrow(/teacherTemp = 0: must be a finite number > 0/);
    expect(() => checkChoice('backend', 'gpu', ['wasm', 'cpu'])).toThrow(/"wasm", "cpu"/);
  });
});

describeBackends('gradients and params', () => {
  it('computes gradients (registration works)', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.mean(tf.mul(t, t)))(x);
    assertClose(g.dataSync(), [2 / 3, 4 / 3, 2], 1e-6);
    const s = tf.grad((t: tf.Tensor) => tf.sum(tf.erf(t)))(x);
    expect(s.shape).toEqual([3]);
  });
  it('loads named arrays with shape checks', async () => {
    const params: Params = new Map([['w', variable('w', tf.zeros([2, 2]))]]);
    loadParams(params, { w: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
    const arr = await paramsToArrays(params);
    expect([...arr.w.data]).toEqual([1, 2, 3, 4]);
    expect(() => loadParams(params, { w: { dtype: 'F32', shape: [4], data: new Float32Array(4) } })).toThrow(/"w" has shape \[4\] but the model expects \[2,2\]/);
    expect(() => loadParams(params, {})).toThrow(/Missing: w/);
    params.get('w')!.dispose();
  });
});

describe('withDefaults', () => {
  it('keeps the default where an option is present but undefined', () => {
    const d = { dir: '/data', split: 'train' };
    expect(withDefaults(d, { dir: undefined, split: 'test' })).toEqual({ dir: '/data', split: 'test' });
    expect(withDefaults(d, undefined)).toEqual(d);
    expect(d).toEqual({ dir: '/data', split: 'train' });
  });
});

describe('typed errors across builds', () => {
  it('instanceof recognises an error of the same kind from another copy of the class', async () => {
    const { ConfigError, DataError, ShapeError } = await import('./errors');
    // A second evaluation of the module stands for the other build (ESM beside CJS).
    const other = await import('./errors?copy' as string) as typeof import('./errors');
    expect(other.ConfigError).not.toBe(ConfigError);
    expect(new other.ConfigError('k', 0, 'must be >= 1')).toBeInstanceOf(ConfigError);
    expect(new other.DataError('bad file')).toBeInstanceOf(DataError);
    expect(new other.ShapeError('bad shape') instanceof ShapeError).toBe(true);
    expect(new other.DataError('bad file') instanceof ConfigError).toBe(false);
    expect(new Error('plain') instanceof DataError).toBe(false);
    class Narrow extends ConfigError {}
    expect(new ConfigError('k', 0, 'x') instanceof Narrow).toBe(false);
    expect(new Narrow('k', 0, 'x') instanceof ConfigError).toBe(true);
  });
});

describe('isRecordingGradients', () => {
  it('is true only while tfjs records a gradient', () => {
    expect(isRecordingGradients()).toBe(false);
    let inside: boolean | null = null;
    tf.grad((x: tf.Tensor) => {
      inside = isRecordingGradients();
      return tf.sum(tf.square(x));
    })(tf.scalar(2));
    expect(inside).toBe(true);
    expect(tf.tidy(() => isRecordingGradients())).toBe(false);
  });
});
