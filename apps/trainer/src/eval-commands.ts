/**
 * `dino eval knn | linear | attention | video`, `dino embed`, `dino export`, `dino info`: each
 * reads a run directory (its checkpoint holds the config and the weights).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, countParams, type NamedArray } from '@dino-ts/core';
import * as ev from '@dino-ts/eval';
import { listBackbones } from '@dino-ts/backbones';
import type { BackendInfo } from './backend';
import { openDatasets } from './datasets';
import { loadTeacher, backboneFor, part } from './model';
import { readCheckpoint } from './checkpoint';
import { frozenFeatures, knnEval, linearEval, jaccardEval, videoEval, attentionGalleryPng } from './evaluations';
import { PRESETS, resolveConfig } from './config';
import { versions } from './versions';
import { writeFileAtomic } from './atomic';
import { backboneMetadata } from './trainer-config';
import { toHuggingFaceNames } from '@dino-ts/weights';
import { checkOutputFile } from './run-dir';
import { writeSafetensorsFile } from './safetensors-file';
import { checkBackboneTensors } from './weights-check';

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

async function setup(dir: string, random: boolean, dataDir?: string) {
  const t = loadTeacher(dir);
  const config = { ...t.run.config, ...(dataDir ? { data: dataDir } : {}) };
  const data = await openDatasets(config);
  data.mean = t.run.mean;
  data.std = t.run.std;
  let backbone = t.backbone;
  if (random) {
    t.backbone.dispose();
    backbone = backboneFor(t.run, data.channels, config.globalCropsSize ?? data.imageSize, config.seed);
  }
  return { backbone, data, config, label: random ? 'random init' : 'teacher' };
}

export async function runEval(kind: 'knn' | 'linear' | 'attention' | 'video', o: { dir: string; random: boolean; backend: BackendInfo; data?: string; bank?: number }): Promise<number> {
  const { backbone, data, config, label } = await setup(o.dir, o.random, o.data);
  const suffix = o.random ? '-random' : '';
  try {
    if (kind === 'knn') {
      const report = await knnEval(await frozenFeatures(backbone, data, config.seed, o.bank), data);
      process.stdout.write(`k-NN (${label}, T=${report.T}, ${report.numTrain} train, ${report.numTest} test):\n`);
      for (const r of report.results) process.stdout.write(`  k=${r.k}: top-1 ${r.top1.toFixed(2)}%${r.top5 !== null ? `, top-5 ${r.top5.toFixed(2)}%` : ''}\n`);
      writeFileAtomic(join(o.dir, `eval-knn${suffix}.json`), JSON.stringify(ev.knnTable(report), null, 2) + '\n');
    } else if (kind === 'linear') {
      const r = await linearEval(await frozenFeatures(backbone, data, config.seed, o.bank), data, config.seed);
      process.stdout.write(`Linear probe (${label}): top-1 ${r.top1?.toFixed(2)}% (best ${r.bestTop1?.toFixed(2)}%)\n`);
      writeFileAtomic(join(o.dir, `eval-linear${suffix}.json`), JSON.stringify(ev.linearTable(r), null, 2) + '\n');
    } else if (kind === 'attention') {
      const png = await attentionGalleryPng(backbone, data);
      const file = join(o.dir, `attention${suffix}.png`);
      writeFileAtomic(file, png);
      process.stdout.write(`Attention gallery: ${file}\n`);
      if (data.hasMasks) {
        const r = await jaccardEval(backbone, data);
        process.stdout.write(`Attention-mask Jaccard (${label}, ${r.numImages} images): best head ${r.bestHead} ${pct(r.bestHeadJaccard)}, head mean ${pct(r.meanHeads)}; per head ${r.perHead.map(pct).join(' ')}\n`);
        writeFileAtomic(join(o.dir, `eval-attention${suffix}.json`), JSON.stringify(ev.jaccardTable(r), null, 2) + '\n');
      } else {
        process.stdout.write('This data set has no object masks: Jaccard not computed.\n');
      }
    } else {
      if (data.channels !== 3) throw new ConfigError('dino eval video', `${data.channels}-channel model`, 'needs a 3-channel model (moving shapes are colour videos)');
      const s = await videoEval(backbone, data, config);
      process.stdout.write(`Video label propagation (${label}): J&F ${pct(s['J&F-Mean'])}, J ${pct(s['J-Mean'])}, F ${pct(s['F-Mean'])}\n`);
      writeFileAtomic(join(o.dir, `eval-video${suffix}.json`), JSON.stringify(ev.davisTable(s), null, 2) + '\n');
    }
  } finally {
    backbone.dispose();
  }
  return 0;
}

export async function runEmbed(o: { dir: string; to: string; split: string; backend: BackendInfo; data?: string }): Promise<number> {
  if (o.split !== 'train' && o.split !== 'test') throw new ConfigError('--split', o.split, 'must be train or test');
  // Before any work: never a run's own file, a folder, or a place that cannot be written.
  checkOutputFile(o.to, { runDir: o.dir });
  const { backbone, data } = await setup(o.dir, false, o.data);
  try {
    const set = o.split === 'train' ? data.train : data.test;
    const f = await ev.extractFeatures(backbone, ev.fromIndexedDataset(set, { mean: data.mean, std: data.std }), {
      batchSize: 128,
      onProgress: (d, t) => process.stderr.write(`\rembedding ${d}/${t}`),
    });
    process.stderr.write('\n');
    const tensors: Record<string, NamedArray> = { features: { dtype: 'F32', shape: [f.rows, f.dim], data: f.data } };
    if (f.labels) tensors.labels = { dtype: 'I32', shape: [f.rows], data: Int32Array.from(f.labels) };
    writeSafetensorsFile(o.to, tensors, { split: o.split, dataset: set.name });
    process.stdout.write(`Wrote ${f.rows} x ${f.dim} features to ${o.to}\n`);
  } finally {
    backbone.dispose();
  }
  return 0;
}

export async function runExport(o: { dir: string; to: string; student: boolean; withHead: boolean; names?: string }): Promise<number> {
  checkOutputFile(o.to, { runDir: o.dir });
  const { state, run } = readCheckpoint(o.dir);
  const who = o.student ? 'student' : 'teacher';
  const backbone = part(state.tensors, `${who}.backbone.`);
  // Exactly the tensors of the run's architecture: a file PyTorch loads strictly.
  await checkBackboneTensors(run, backbone, `${who} backbone`, join(o.dir, 'checkpoint.safetensors'));
  const hf = o.names === 'huggingface';
  if (hf && o.withHead) throw new ConfigError('--with-head', true, "is for the reference's names (Hugging Face's ViTModel has no DINO head)");
  const tensors: Record<string, NamedArray> = hf ? toHuggingFaceNames(backbone) : { ...backbone };
  if (o.withHead) for (const [k, v] of Object.entries(part(state.tensors, `${who}.head.`))) tensors[`head.${k}`] = v;
  writeSafetensorsFile(o.to, tensors, { ...backboneMetadata(run.config), source: `${who} of dino-ts run at iteration ${run.iteration}` });
  process.stdout.write(`Wrote the ${who} ${o.withHead ? 'backbone and head' : 'backbone'} (${Object.keys(tensors).length} tensors, ${hf ? 'Hugging Face' : 'reference'} names) to ${o.to}\n`);
  return 0;
}

export async function runInfo(o: { dir?: string; preset: string; backend: BackendInfo; backends?: string[] }): Promise<number> {
  const lines: string[] = [];
  lines.push(`backend: ${o.backend.name} (${o.backend.provider}): ${o.backend.reason}`);
  // Every backend, usable or not and why (gpu-backends.ts).
  lines.push(...(o.backends ?? []));
  for (const [k, v] of Object.entries(versions())) lines.push(`${k}: ${v}`);
  lines.push(`backbones: ${listBackbones().join(', ')}`);
  let config;
  if (o.dir) {
    const { run } = readCheckpoint(o.dir);
    config = run.config;
    lines.push(`run: ${o.dir}, iteration ${run.iteration}, epoch ${run.epoch}, ${(run.trainSeconds / 60).toFixed(1)} min trained`);
  } else {
    if (!PRESETS[o.preset]) throw new ConfigError('--preset', o.preset, `must be one of ${Object.keys(PRESETS).join(', ')}`);
    config = resolveConfig([PRESETS[o.preset].values]);
    lines.push(`preset: ${o.preset}`);
  }
  const channels = config.dataset === 'fashion-mnist' ? 1 : 3;
  const b = backboneFor({ config }, channels, config.globalCropsSize ?? config.imageSize);
  const n = countParams(b.params());
  const tokens = ((config.globalCropsSize ?? config.imageSize) / config.patchSize) ** 2 + 1;
  b.dispose();
  lines.push(`model: ${config.arch} ${config.embedDim}d x ${config.depth} blocks, ${config.numHeads} heads, patch ${config.patchSize}, ${tokens} tokens at ${config.globalCropsSize ?? config.imageSize}px: ${(n / 1e6).toFixed(2)} M backbone parameters`);
  lines.push(`head: K ${config.outDim}, hidden ${config.hiddenDim}, bottleneck ${config.bottleneckDim}`);
  lines.push(`tensors alive: ${tf.memory().numTensors}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
