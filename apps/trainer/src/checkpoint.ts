/**
 * Checkpoints of a training run, in `--out DIR`:
 * - `checkpoint.safetensors`: student and teacher weights under the reference's names
 *   (`student.backbone.blocks.0.attn.qkv.weight`, `teacher.head.last_layer.weight_v`, ...), the
 *   optimizer moments, the DINO center; its metadata holds the run state (iteration, epoch,
 *   config, random-generator state), so this one file is the whole truth and is written
 *   atomically, streamed tensor by tensor (any size).
 * - `checkpoint.json`: the same run state, readable (written after the weights).
 *
 * Reading trusts nothing in the file: it must be a regular file of plausible size, its header
 * valid, its run state complete and its settings valid by the same rules as the command line
 * (a settings value edited into a checkpoint is refused as a flag would be), and its tensors
 * consistent (student and teacher alike, a center of K values).
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, type NamedArray } from '@dino-ts/core';
import type { DinoTrainer, DinoTrainerState } from '@dino-ts/dino';
import { writeFileAtomic } from './atomic';
import { RunDirError, ConfigFileError } from './errors';
import { resolveConfig, type TrainConfig } from './config';
import { checkRunDirExists } from './run-dir';
import { readSafetensorsFile, writeSafetensorsFile } from './safetensors-file';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const CHECKPOINT_JSON = 'checkpoint.json';

export interface RunState {
  /** Iterations completed: training resumes at this iteration. */
  iteration: number;
  epoch: number;
  config: TrainConfig;
  /** Normalisation of the inputs (per channel). */
  mean: number[];
  std: number[];
  /** Training seconds spent so far (summed across resumes). */
  trainSeconds: number;
  imagesSeen: number;
  savedAt: string;
  versions: Record<string, string>;
  /** Why this checkpoint was written. */
  reason: string;
}

export async function saveCheckpoint(dir: string, trainer: DinoTrainer, run: RunState): Promise<void> {
  const state = await trainer.getState();
  writeSafetensorsFile(join(dir, CHECKPOINT_FILE), state.tensors, { ...state.metadata, run: JSON.stringify(run) });
  writeFileAtomic(join(dir, CHECKPOINT_JSON), JSON.stringify({ ...run, trainerMetadata: { format: state.metadata.format, rng: state.metadata.rng } }, null, 2) + '\n');
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}

export interface ReadCheckpointOptions {
  /** Receives warnings (weights that are not finite); default: stderr. */
  warn?: (line: string) => void;
}

/** The checkpoint of the run in `dir`; `purpose` words the error when there is none. */
export function readCheckpoint(dir: string, purpose: 'resume' | 'read' = 'read', opts: ReadCheckpointOptions = {}): { state: DinoTrainerState; run: RunState } {
  const warn = opts.warn ?? ((line: string) => process.stderr.write(line + '\n'));
  checkRunDirExists(dir);
  const path = join(dir, CHECKPOINT_FILE);
  // (A link that leads nowhere or in a loop is not "no checkpoint": reading it says what is wrong.)
  if (!existsSync(path) && !lstatSync(path, { throwIfNoEntry: false })) throw new RunDirError(`${dir} holds no checkpoint (expected ${CHECKPOINT_FILE}): train into it first${purpose === 'resume' ? ', without --resume' : ' with `dino train --out ' + dir + '`'}.`, dir);
  const { tensors, metadata } = readSafetensorsFile(path, { what: 'checkpoint' });
  if (metadata.run === undefined) throw new DataError(`${path} holds no run state (metadata "run"); it was not written by dino train.`, path);
  const { run: runText, ...rest } = metadata;
  const run = parseRunState(runText, path);
  checkTensors(tensors, run, path);
  const bad = nonFinite(tensors, 'teacher.backbone.');
  if (bad) warn(`Warning: ${path}: the teacher backbone holds ${bad.count} non-finite value(s) (first in ${bad.first}); anything computed from these weights is meaningless.`);
  return { state: { tensors, metadata: rest }, run };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The run state of a checkpoint, every field checked; its settings re-validated as flags are. */
export function parseRunState(text: string, path: string): RunState {
  const fail = (problem: string): never => {
    throw new DataError(`${path}: the run state (metadata "run") ${problem}; the checkpoint is damaged or was edited`, path);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail(`is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) return fail('is not a JSON object');
  if (!isCount(v.iteration)) fail(`has iteration ${JSON.stringify(v.iteration)}, not a whole number >= 0`);
  if (!isCount(v.epoch)) fail(`has epoch ${JSON.stringify(v.epoch)}, not a whole number >= 0`);
  if (!isCount(v.imagesSeen)) fail(`has imagesSeen ${JSON.stringify(v.imagesSeen)}, not a whole number >= 0`);
  if (typeof v.trainSeconds !== 'number' || !Number.isFinite(v.trainSeconds) || v.trainSeconds < 0) fail(`has trainSeconds ${JSON.stringify(v.trainSeconds)}, not a finite number >= 0`);
  const channels = Array.isArray(v.mean) ? v.mean.length : -1;
  if (!Array.isArray(v.mean) || (channels !== 1 && channels !== 3) || !v.mean.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    fail(`has mean ${short(v.mean)}, not 1 or 3 finite numbers (one per channel)`);
  }
  if (!Array.isArray(v.std) || v.std.length !== channels || !v.std.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
    fail(`has std ${short(v.std)}, not ${channels} finite numbers > 0 (one per channel)`);
  }
  if (!isObject(v.config)) return fail('has no settings object ("config")');
  let config: TrainConfig;
  try {
    config = resolveConfig([v.config]);
  } catch (e) {
    if (e instanceof ConfigFileError) return fail(`holds settings that are not valid: ${e.message.replace(/^Invalid configuration: */, '')}`);
    throw e;
  }
  return {
    iteration: v.iteration as number,
    epoch: v.epoch as number,
    config,
    mean: v.mean as number[],
    std: v.std as number[],
    trainSeconds: v.trainSeconds as number,
    imagesSeen: v.imagesSeen as number,
    savedAt: typeof v.savedAt === 'string' ? v.savedAt : '',
    versions: isObject(v.versions) ? (v.versions as Record<string, string>) : {},
    reason: typeof v.reason === 'string' ? v.reason : '',
  };
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/**
 * What every reader of a checkpoint relies on: a teacher backbone, the student and teacher with
 * the same tensors (names and shapes), the center K wide. (The exact list for the architecture is
 * checked where the networks are built: loading into them refuses missing or extra names.)
 */
function checkTensors(tensors: Record<string, NamedArray>, run: RunState, path: string): void {
  const fail = (problem: string): never => {
    throw new DataError(`${path}: ${problem}; the checkpoint is damaged or was edited`, path);
  };
  const part = (prefix: string) => new Map(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t.shape.join('x')]));
  const student = part('student.'), teacher = part('teacher.');
  if (![...teacher.keys()].some((k) => k.startsWith('backbone.'))) fail('it holds no teacher backbone (tensors teacher.backbone.*)');
  for (const [k, shape] of teacher) {
    if (!student.has(k)) fail(`teacher.${k} has no student.${k}`);
    if (student.get(k) !== shape) fail(`teacher.${k} is [${shape}] but student.${k} is [${student.get(k)}]`);
  }
  for (const k of student.keys()) if (!teacher.has(k)) fail(`student.${k} has no teacher.${k}`);
  const center = tensors['dino_loss.center'];
  if (!center) fail('it holds no dino_loss.center');
  if (center.shape.length !== 2 || center.shape[0] !== 1 || center.shape[1] !== run.config.outDim) {
    fail(`dino_loss.center is [${center.shape}], not [1, ${run.config.outDim}] (K of its settings)`);
  }
}

/** Non-finite values among the float tensors under `prefix`: how many, and the first tensor holding one. */
export function nonFinite(tensors: Record<string, NamedArray>, prefix: string): { count: number; first: string } | null {
  let count = 0;
  let first = '';
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.startsWith(prefix) || (t.dtype !== 'F32' && t.dtype !== 'F64')) continue;
    const d = t.data as Float32Array | Float64Array;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        if (count === 0) first = name;
        count++;
      }
    }
  }
  return count > 0 ? { count, first } : null;
}
