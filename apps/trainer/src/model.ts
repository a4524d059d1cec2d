/**
 * Rebuilding networks from a run directory: the teacher backbone (what DINO evaluates and
 * exports) and a randomly initialised twin of the same architecture (the baseline).
 */
import { createBackbone, type Backbone } from '@dino-ts/backbones';
import { loadParams, mergeParams, type NamedArray } from '@dino-ts/core';
import { readCheckpoint, type RunState } from './checkpoint';
import { trainerConfig } from './train';

export function backboneFor(run: Pick<RunState, 'config'>, channels: number, imageSize: number, seed = run.config.seed): Backbone {
  const tc = trainerConfig(run.config, { channels, imageSize }, 1);
  return createBackbone(tc.arch, { ...tc.backboneOptions, dropPathRate: 0, seed });
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

/** The teacher backbone of the checkpoint in `dir`. */
export function loadTeacher(dir: string): LoadedTeacher {
  const { state, run } = readCheckpoint(dir);
  const weights = part(state.tensors, 'teacher.backbone.');
  // The first convolution's input channels: a ViT's patch embedding or a ResNet's stem.
  const first = weights['patch_embed.proj.weight'] ?? weights['conv1.weight'];
  const channels = first ? first.shape[1] : 3;
  const backbone = backboneFor(run, channels, run.config.globalCropsSize ?? run.config.imageSize);
  // Parameters and, for a convnet, its BatchNorm running statistics.
  loadParams(mergeParams(backbone.params(), backbone.buffers?.() ?? new Map()), weights, { source: `${dir}/checkpoint.safetensors (teacher.backbone)` });
  return { backbone, run, tensors: state.tensors };
}
