/**
 * Weights checked against the network they are meant for, before they are written out: an
 * export must hold exactly the tensors of the run's architecture, with its shapes, or PyTorch's
 * strict loading (and anything else) fails far from the cause.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataError, type NamedArray } from '@dino-ts/core';
import { selectBackend } from './backend';
import type { RunState } from './checkpoint';
import { backboneFor } from './model';

/** Throws a DataError naming what is missing, extra or misshapen in `tensors` for the run's backbone. */
export async function checkBackboneTensors(run: Pick<RunState, 'config' | 'mean'>, tensors: Record<string, NamedArray>, what: string, source: string): Promise<void> {
  // Building the reference network needs a tfjs backend; a command that computes nothing
  // (export) has none yet, and then gets the wasm one (quiet, and quick to start).
  if (tf.engine().backendNames().length === 0) await selectBackend('wasm');
  const b = backboneFor(run, run.mean.length, run.config.globalCropsSize ?? run.config.imageSize);
  try {
    const expected = new Map<string, number[]>();
    for (const [k, v] of b.params()) expected.set(k, v.shape);
    for (const [k, v] of b.buffers?.() ?? new Map()) expected.set(k, v.shape);
    const missing = [...expected.keys()].filter((k) => !(k in tensors));
    const extra = Object.keys(tensors).filter((k) => !expected.has(k));
    const misshapen = [...expected].filter(([k, shape]) => k in tensors && tensors[k].shape.join('x') !== shape.join('x')).map(([k, shape]) => `${k} is [${tensors[k].shape}], not [${shape}]`);
    const list = (names: string[]) => names.slice(0, 4).join(', ') + (names.length > 4 ? `, ... (${names.length})` : '');
    const problems = [
      missing.length ? `missing ${list(missing)}` : '',
      extra.length ? `unexpected ${list(extra)}` : '',
      misshapen.length ? list(misshapen) : '',
    ].filter(Boolean);
    if (problems.length > 0) {
      throw new DataError(`${source}: the ${what} does not match a ${run.config.arch} of the run's settings (${problems.join('; ')}); the checkpoint is damaged or was edited`, source);
    }
  } finally {
    b.dispose();
  }
}
