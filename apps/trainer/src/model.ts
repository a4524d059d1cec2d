/**
 * Rebuilding networks from a run directory: the teacher backbone (what DINO evaluates and
 * exports) and a randomly initialised twin of the same architecture (the baseline).
 */
import { createBackbone, type Backbone } from '@dino-ts/backbones';
import { loadParams, mergeParams, type NamedArray } from '@dino-ts/core';
import { readCheckpoint, type RunState } from './checkpoint';
import { backboneOptions } from './trainer-config';
import { nest } from './config';

/** A backbone of the run's architecture for `channels`-channel images (weights: initialised). */
export function backboneFor(run: Pick<RunState, 'config'>, channels: number, imageSize: number, seed = run.config.seed): Backbone {
  const n = nest(run.config);
  return createBackbone(n.backbone.arch, { ...backboneOptions(n, { channels, imageSize }), dropPathRate: 0, seed });
}

/** Names of one network part of a checkpoint, with the prefix removed. */
export function part(tensors: Record<string, NamedArray>, prefix: string): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

export interface LoadedTeacher {
  backbone: Backbone;
  run: RunState;
  tensors: Record<string, NamedArray>;
}

/** The teacher (or student) backbone of the checkpoint in `dir`. */
export function loadTeacher(dir: string, who: 'teacher' | 'student' = 'teacher'): LoadedTeacher {
  const { state, run } = readCheckpoint(dir);
  const weights = part(state.tensors, `${who}.backbone.`);
  // The run's inputs had one normalisation entry per channel.
  const channels = run.mean.length;
  const backbone = backboneFor(run, channels, run.config.globalCropsSize ?? run.config.imageSize);
  // Parameters and, for a convnet, its BatchNorm running statistics.
  loadParams(mergeParams(backbone.params(), backbone.buffers?.() ?? new Map()), weights, { source: `${dir}/checkpoint.safetensors (${who}.backbone)` });
  return { backbone, run, tensors: state.tensors };
}
