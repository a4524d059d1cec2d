#!/usr/bin/env node
// Regenerates the playground's demo teacher, public/models/demo-teacher.safetensors, from a
// `dino train` run of the shapes preset (a 64-wide, 4-block ViT with 4 px patches on 32 px mono
// shapes: about 3 minutes of training on a 2-core machine).
//
//   node scripts/make-demo-model.mjs                    # trains a new run, then writes the file
//   node scripts/make-demo-model.mjs --run runs/shapes  # an existing run of the preset, no training
//   node scripts/make-demo-model.mjs --max-iterations 4 --out /tmp/x.safetensors   # a quick check
//
// The file is `dino export`'s teacher backbone (reference state-dict names) stored as F16 (half
// the bytes, features within about 1e-3 of F32), with metadata the page needs and the exported
// file lacks: the run's config (so readers infer 4 heads, not embedDim / 64 = 1), the training
// images' per-channel mean and std (the page normalises its inputs with them), and the shapes'
// settings (so the page draws the images the model was trained on).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { decodeSafetensors, encodeSafetensors } from '@dino-ts/core';
import { loadVisionTransformer, readWeights } from '@dino-ts/weights';
import { ShapesDataset, toTensor } from '@dino-ts/data';

const HERE = dirname(new URL(import.meta.url).pathname);
const APP = resolve(HERE, '..');
const { values: o } = parseArgs({
  options: {
    run: { type: 'string' },
    out: { type: 'string', default: join(APP, 'public/models/demo-teacher.safetensors') },
    'max-iterations': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

// The `dino` command of the workspace's trainer (its package exports only an ESM entry).
const dinoBin = join(dirname(fileURLToPath(import.meta.resolve('@dino-ts/trainer'))), 'bin.js');
const dino = (args) => {
  process.stderr.write(`$ dino ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [dinoBin, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`dino ${args[0]} failed with exit code ${r.status}`);
};

const work = mkdtempSync(join(tmpdir(), 'dino-playground-model-'));
try {
  let runDir = o.run ? resolve(o.run) : join(work, 'run');
  if (!o.run) {
    const started = Date.now();
    const limit = o['max-iterations'] ? ['--max-iterations', o['max-iterations']] : [];
    // The run's report (its final evaluation) is not needed: the page measures both properties.
    dino(['train', '--preset', 'shapes', '--out', runDir, '--no-report', ...limit]);
    process.stderr.write(`trained in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  } else if (!existsSync(join(runDir, 'checkpoint.json'))) {
    throw new Error(`${runDir} holds no dino run (no checkpoint.json)`);
  }
  const exported = join(work, 'teacher.safetensors');
  dino(['export', '--out', runDir, '--to', exported]);

  const run = JSON.parse(readFileSync(join(runDir, 'checkpoint.json'), 'utf8'));
  const c = run.config;
  if (c.dataset !== 'shapes' || c.arch !== 'vit') throw new Error(`the run is not a ViT on shapes (${c.arch} on ${c.dataset})`);
  const { tensors, metadata } = decodeSafetensors(readFileSync(exported), exported);
  const vitOptions = { imgSize: c.imageSize, patchSize: c.patchSize, inChans: run.mean.length, embedDim: c.embedDim, depth: c.depth, numHeads: c.numHeads };
  const shapes = {
    size: c.imageSize,
    classes: c.shapesClasses,
    clutter: c.shapesClutter,
    textures: c.shapesTextures === 'all' ? null : c.shapesTextures.split(','),
    maxRotation: c.shapesRotation,
    placement: c.shapesPlacement,
    palette: c.shapesPalette,
    // openDatasetSplits: training images from seed 2s + 1, held-out ones from 2s + 2.
    trainSeed: 2 * c.seed + 1,
    testSeed: 2 * c.seed + 2,
  };
  const meta = {
    ...metadata,
    format: 'dino-ts/playground-demo@1',
    // The shape readWeights reads heads from (a dino-ts run's config).
    config: JSON.stringify({ backbone: { arch: 'vit', options: vitOptions } }),
    mean: JSON.stringify(run.mean),
    std: JSON.stringify(run.std),
    shapes: JSON.stringify(shapes),
    iteration: String(run.iteration),
    source: `teacher of \`dino train --preset shapes\` at iteration ${run.iteration}${o.run ? '' : ' (trained by make-demo-model.mjs)'}`,
  };
  const bytes = encodeSafetensors(tensors, meta, { floatDtype: 'F16' });

  // The file must read back as the run's architecture, and F16 must not change what the page shows.
  await tf.setBackend('wasm');
  const file = readWeights(bytes, { source: 'demo-teacher.safetensors' });
  if (file.numHeadsFrom !== 'metadata' || file.arch.numHeads !== c.numHeads) throw new Error(`heads read back as ${file.arch.numHeads} (${file.numHeadsFrom})`);
  const f16 = loadVisionTransformer(file);
  const f32 = loadVisionTransformer(readFileSync(exported), { numHeads: c.numHeads });
  const data = new ShapesDataset({ length: 16, size: c.imageSize, seed: shapes.testSeed });
  const x = toTensor(await data.getBatch(Array.from({ length: 16 }, (_, i) => i)));
  const a = f32.forward(x), b = f16.forward(x);
  const diff = (await tf.max(tf.abs(tf.sub(a, b))).data())[0];
  tf.dispose([x, a, b]);
  f16.dispose();
  f32.dispose();

  writeFileSync(o.out, bytes);
  process.stdout.write(`Wrote ${o.out}: ${(bytes.length / 1024).toFixed(0)} KB, ${Object.keys(tensors).length} tensors as F16, ` +
    `ViT ${c.embedDim}d x ${c.depth}, ${c.numHeads} heads, patch ${c.patchSize}, ${c.imageSize} px, iteration ${run.iteration}; ` +
    `CLS max |F16 - F32| on 16 images: ${diff.toExponential(2)}\n`);
} finally {
  if (!o.keep) rmSync(work, { recursive: true, force: true });
  else process.stderr.write(`kept ${work}\n`);
}
