/**
 * `dino train --resume-from checkpoint.pth`: continue a run of the reference's main_dino.py in
 * dino-ts. The checkpoint's `args` give the settings the reference trained with (its flag names
 * are dino-ts's in snake_case); the networks' sizes are read off the teacher's tensors, which is
 * what the weights really are; flags given on the command line override both (the data, above
 * all: the reference's data path is another machine's).
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, DataError } from '@dino-ts/core';
import { VIT_PRESETS } from '@dino-ts/backbones';
import { PickleTuple, inferDinoHeadConfig, readPth, readWeights, type PickleValue } from '@dino-ts/weights';
import { SETTINGS, camel } from './config';

/** main_dino.py arguments whose dino-ts setting is not their camelCase. */
const RENAMED: Record<string, string> = { batch_size_per_gpu: 'batchSize' };
/** Arguments about the reference's machine, not the method: never carried over. */
const MACHINE_ARGS = new Set(['data_path', 'output_dir', 'saveckp_freq', 'num_workers', 'dist_url', 'local_rank', 'use_fp16', 'optimizer']);
/** The network's sizes come from its tensors, not from `arch`. */
const FROM_TENSORS = new Set(['arch', 'patch_size', 'out_dim', 'use_bn_in_head', 'norm_last_layer']);

export interface ReferenceRun {
  bytes: Uint8Array;
  source: string;
  /** Settings (flat names) read from the checkpoint. */
  settings: Record<string, unknown>;
  /** One line describing what was read. */
  summary: string;
}

/** Reads main_dino.py's checkpoint at `path`: its bytes and the settings it implies. */
export function readReferenceRun(path: string, opts: { numHeads?: number } = {}): ReferenceRun {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError('--resume-from', path, "must be a file: main_dino.py's checkpoint.pth");
    size = st.size;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('--resume-from', path, 'does not exist');
  }
  if (size > 2 ** 31 - 1) throw new DataError(`${path}: ${size} bytes is more than --resume-from reads (2 GiB)`, path);
  const bytes = new Uint8Array(readFileSync(path));
  const root = readPth(bytes, { source: path }).value;
  if (!(root instanceof Map) || !root.has('teacher') || !root.has('optimizer')) {
    throw new DataError(`${path}: not a training checkpoint of main_dino.py (it has no teacher and optimizer); a published backbone is read by dino embed / convert`, path);
  }
  const settings: Record<string, unknown> = {};
  const args = root.get('args');
  if (args && typeof args === 'object' && !(args instanceof Map)) {
    const a = args as Record<string, PickleValue>;
    if (typeof a.optimizer === 'string' && a.optimizer !== 'adamw') {
      throw new ConfigError('--resume-from', path, `was trained with ${a.optimizer}; dino-ts trains with AdamW, the reference's default`);
    }
    for (const [k, v] of Object.entries(a)) {
      if (MACHINE_ARGS.has(k) || FROM_TENSORS.has(k)) continue;
      const flat = RENAMED[k] ?? camel(k);
      if (!SETTINGS[flat]) continue;
      settings[flat] = v instanceof PickleTuple ? [...v] : v;
    }
  }
  // The networks as the tensors are: a preset's name when the sizes are a preset's.
  const file = readWeights(bytes, { key: 'teacher', numHeads: opts.numHeads, source: path });
  if (!file.arch) throw new DataError(`${file.archError ?? `${path}: the teacher is not a Vision Transformer`} (--num-heads N)`, path);
  const arch = file.arch;
  const preset = Object.entries(VIT_PRESETS).find(([, p]) => p.embedDim === arch.embedDim && p.depth === arch.depth && p.numHeads === arch.numHeads);
  if (preset && arch.mlpRatio === 4 && arch.qkvBias) settings.arch = preset[0];
  else Object.assign(settings, { arch: 'vit', embedDim: arch.embedDim, depth: arch.depth, numHeads: arch.numHeads });
  settings.patchSize = arch.patchSize;
  settings.imageSize = typeof arch.imgSize === 'number' ? arch.imgSize : arch.imgSize[0];
  if (file.head) {
    const h = inferDinoHeadConfig(file.head, path);
    Object.assign(settings, { outDim: h.outDim, hiddenDim: h.hiddenDim, bottleneckDim: h.bottleneckDim, nlayers: h.nlayers, useBnInHead: h.useBn, normLastLayer: h.normLastLayer });
  }
  const summary = `${path}: main_dino.py checkpoint, ${settings.arch} (${arch.embedDim} wide, ${arch.depth} blocks, ${arch.numHeads} heads, patch ${arch.patchSize}), head K ${settings.outDim ?? '?'}, epoch ${String(root.get('epoch'))}`;
  return { bytes, source: path, settings, summary };
}
