/**
 * Test helpers shared by every package: run the same numerical test on each backend (the pattern
 * of tfjs's describeWithFlags), compare arrays with a report of the worst element, and read the
 * PyTorch-reference fixtures.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, beforeAll, beforeEach, afterEach, afterAll } from 'vitest';
import './gradients';
import { decodeSafetensors, type NamedArray } from './safetensors';

export type TestBackend = 'cpu' | 'wasm';
export const TEST_BACKENDS: TestBackend[] = ['cpu', 'wasm'];

let registered = false;
async function registerBackends(): Promise<void> {
  if (registered) return;
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-wasm');
  registered = true;
}

/** Makes `name` the active backend (importing the cpu and wasm backends on first use). */
export async function useBackend(name: string): Promise<void> {
  await registerBackends();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

/**
 * `describe` once per backend: sets the backend before the tests and wraps each test in an
 * engine scope so tensors a test forgets are freed.
 */
export function describeBackends(
  name: string,
  fn: (backend: TestBackend) => void,
  backends: TestBackend[] = TEST_BACKENDS,
): void {
  for (const b of backends) {
    describe(`${name} [${b}]`, () => {
      beforeAll(async () => {
        await useBackend(b);
      });
      beforeEach(() => tf.engine().startScope());
      afterEach(() => tf.engine().endScope());
      fn(b);
    });
  }
}

export interface CloseReport {
  maxAbs: number;
  maxRel: number;
  worstIndex: number;
}

/** Max absolute and relative (|a-e| / max(|e|, floor)) error between two arrays. */
export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, relFloor = 1e-6): CloseReport {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: actual ${actual.length}, expected ${expected.length}`);
  }
  let maxAbs = 0, maxRel = 0, worstIndex = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxAbs) || Number.isNaN(d)) {
      maxAbs = Number.isNaN(d) ? Infinity : d;
      worstIndex = i;
    }
    const r = d / Math.max(Math.abs(expected[i]), relFloor);
    if (r > maxRel || Number.isNaN(r)) maxRel = Number.isNaN(r) ? Infinity : r;
  }
  return { maxAbs, maxRel, worstIndex };
}

/** Throws with the worst element unless max |actual - expected| <= atol. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  label = 'value',
): CloseReport {
  const r = compareArrays(actual, expected);
  if (!(r.maxAbs <= atol)) {
    const i = r.worstIndex;
    throw new Error(
      `${label}: max abs error ${r.maxAbs.toExponential(3)} > ${atol} at index ${i} (actual ${actual[i]}, expected ${expected[i]})`,
    );
  }
  return r;
}

/**
 * Throws unless the relative error of the whole array, ||a - e|| / ||e||, is <= rtol
 * (the measure used for gradients, whose entries span many magnitudes).
 */
export function assertRelClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  label = 'value',
): number {
  if (actual.length !== expected.length) throw new Error(`${label}: length ${actual.length} vs ${expected.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < actual.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
  if (!(rel <= rtol)) throw new Error(`${label}: relative error ${rel.toExponential(3)} > ${rtol}`);
  return rel;
}

/** Reads a safetensors fixture file written by scripts/fixtures. */
export function readFixture(path: string | URL): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  return decodeSafetensors(new Uint8Array(readFileSync(path)), path instanceof URL ? decodeURIComponent(path.pathname) : path);
}

/** The float data of a fixture tensor (throws naming the key when absent). */
export function fx(tensors: Record<string, NamedArray>, key: string): Float32Array {
  const t = tensors[key];
  if (!t) throw new Error(`fixture has no tensor "${key}" (have: ${Object.keys(tensors).slice(0, 10).join(', ')}...)`);
  return t.data as Float32Array;
}

const tempDirs: string[] = [];
// Registered when a test file first imports this module, so it runs once that file is done.
afterAll(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the OS temp folder, removed when the test file finishes. */
export function tempDir(prefix = 'dino-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
