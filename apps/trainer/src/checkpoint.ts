/**
 * Checkpoints of a training run, in `--out DIR`:
 * - `checkpoint.safetensors`: student and teacher weights under the reference's names
 *   (`student.backbone.blocks.0.attn.qkv.weight`, `teacher.head.last_layer.weight_v`, ...), the
 *   optimizer moments, the DINO center; its metadata holds the run state (iteration, epoch,
 *   config, random-generator state), so this one file is the whole truth and is written
 *   atomically.
 * - `checkpoint.json`: the same run state, readable (written after the weights).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, decodeSafetensors, DataError } from '@dino-ts/core';
import type { DinoTrainer, DinoTrainerState } from '@dino-ts/dino';
import { writeFileAtomic } from './atomic';
import { RunDirError } from './errors';
import type { TrainConfig } from './config';

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
  const bytes = encodeSafetensors(state.tensors, { ...state.metadata, run: JSON.stringify(run) });
  writeFileAtomic(join(dir, CHECKPOINT_FILE), bytes);
  writeFileAtomic(join(dir, CHECKPOINT_JSON), JSON.stringify({ ...run, trainerMetadata: { format: state.metadata.format, rng: state.metadata.rng } }, null, 2) + '\n');
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}

/** The checkpoint of the run in `dir`; `purpose` words the error when there is none. */
export function readCheckpoint(dir: string, purpose: 'resume' | 'read' = 'read'): { state: DinoTrainerState; run: RunState } {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new RunDirError(`${dir} holds no checkpoint (expected ${CHECKPOINT_FILE}): train into it first${purpose === 'resume' ? ', without --resume' : ' with `dino train --out ' + dir + '`'}.`, dir);
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  if (!metadata.run) throw new DataError(`${path} holds no run state (metadata "run"); it was not written by dino train.`, path);
  const { run, ...rest } = metadata;
  return { state: { tensors, metadata: rest }, run: JSON.parse(run) as RunState };
}
