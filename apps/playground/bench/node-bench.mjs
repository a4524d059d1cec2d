#!/usr/bin/env node
// The page's operations timed in Node, to set beside the page's own timings: the same code (the
// page's src/analysis.ts, src/train-setup.ts and src/pca.ts, loaded through Vite's SSR loader),
// the same sizes, the same engine (tfjs-backend-wasm's SIMD build with the dino-ts kernels, one
// thread, relaxed SIMD where V8 has it).
//
//   node bench/node-bench.mjs            # a table
//   node bench/node-bench.mjs --json     # one JSON object
//
// The end-to-end test (e2e/run.mjs --node-bench) prints both side by side.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels, tryEnableRelaxedSimd, wasmKernelsInfo } from '@dino-ts/wasm-kernels';
import { loadVisionTransformer, readWeights } from '@dino-ts/weights';
import { VisionTransformer } from '@dino-ts/backbones';
import { evalTransform, evaluateKnn, extractFeatures, fromIndexedDataset, knnClassifier } from '@dino-ts/eval';
import { createServer } from 'vite';

const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_MODEL = join(APP, 'public/models/demo-teacher.safetensors');

/** The page's defaults for each measured operation (keep in step with src/main.ts and e2e/run.mjs). */
export const BENCH_DEFAULTS = { repeats: 5, gallery: 512, k: 8, knnBank: 512, knnTest: 256, trainBatch: 32, trainSteps: 5 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => performance.now();

/** Loads the page's TypeScript modules in Node (Vite's SSR loader; the packages load as plain Node modules). */
async function pageModules() {
  const server = await createServer({ root: APP, logLevel: 'error', server: { middlewareMode: true, hmr: false }, appType: 'custom', optimizeDeps: { noDiscovery: true, include: [] } });
  try {
    return {
      analysis: await server.ssrLoadModule('/src/analysis.ts'),
      setup: await server.ssrLoadModule('/src/train-setup.ts'),
      shapes: await server.ssrLoadModule('/src/shapes.ts'),
    };
  } finally {
    await server.close();
  }
}

export async function nodeBench(options = {}) {
  const o = { ...BENCH_DEFAULTS, ...options };
  const { analysis, setup: trainSetup, shapes: shapesMod } = await pageModules();
  tryEnableRelaxedSimd();
  await tf.setBackend('wasm');
  await tf.ready();
  const kernels = (await registerWasmKernels()).length;
  const ms = {};

  // Model load: the file's bytes through readWeights and loadVisionTransformer, and a first forward.
  const loads = [];
  let vit, info;
  for (let i = 0; i < 3; i++) {
    const t = now();
    const bytes = new Uint8Array(readFileSync(DEMO_MODEL));
    const file = readWeights(bytes, { source: 'demo-teacher.safetensors' });
    vit?.dispose();
    vit = loadVisionTransformer(file);
    tf.tidy(() => vit.forward(tf.zeros([1, vit.imgSize[0], vit.imgSize[1], 3])));
    loads.push(now() - t);
    info = { mean: JSON.parse(file.metadata.mean), std: JSON.parse(file.metadata.std), shapes: shapesMod.shapesFromMetadata(file.metadata.shapes) };
  }
  ms.modelLoad = median(loads);
  const size = vit.imgSize[0];
  const norm = { mean: info.mean, std: info.std };

  // Property 1 on held-out shapes samples (the page's first pictures).
  const test = shapesMod.shapesDataset(info.shapes, size, 'test', o.repeats + 1);
  const att = [], pca = [], tot = [];
  for (let i = 0; i <= o.repeats; i++) {
    const item = test.getSync(i);
    const x = tf.tidy(() => tf.expandDims(evalTransform({ data: item.image, width: size, height: size, channels: 3 }, { size, ...norm }), 0));
    const a = await analysis.analyzePicture(vit, x, { threshold: 0.6, objectMask: item.mask });
    x.dispose();
    if (i === 0) continue; // warm-up
    att.push(a.ms.attention);
    pca.push(a.ms.pca);
    tot.push(a.ms.total);
  }
  ms.attention = median(att);
  ms.pca = median(pca);
  ms.analysis = median(tot);

  // Property 2: the gallery's features, then one query's neighbours.
  const bankSet = shapesMod.shapesDataset(info.shapes, size, 'train', o.gallery);
  const labels = Int32Array.from({ length: o.gallery }, (_, i) => bankSet.getSync(i).label);
  let t = now();
  const bank = await extractFeatures(vit, fromIndexedDataset(bankSet, norm), { batchSize: 64 });
  ms.galleryFeatures = now() - t;
  const searches = [];
  for (let i = 0; i < o.repeats; i++) {
    const item = test.getSync(i);
    t = now();
    const q = tf.tidy(() => vit.forward(tf.expandDims(evalTransform({ data: item.image, width: size, height: size, channels: 3 }, { size, ...norm }), 0)));
    const query = { data: await q.data(), rows: 1, dim: bank.dim };
    q.dispose();
    await knnClassifier(bank, labels, query, [0], { k: o.k, T: 0.07, numClasses: bankSet.numClasses, returnNeighbors: true, returnPredictions: true });
    searches.push(now() - t);
  }
  ms.knnQuery = median(searches);

  // Held-out k-NN accuracy, trained against random init (two feature extractions each).
  const random = new VisionTransformer({ ...vit.config, seed: 0 });
  t = now();
  const top1 = {};
  for (const [kind, net] of [['trained', vit], ['random', random]]) {
    const r = await evaluateKnn(net, fromIndexedDataset(shapesMod.shapesDataset(info.shapes, size, 'train', o.knnBank), norm), fromIndexedDataset(shapesMod.shapesDataset(info.shapes, size, 'test', o.knnTest), norm), { k: [20], T: 0.07, numClasses: bankSet.numClasses, batchSize: 64 });
    top1[kind] = r.results[0].top1;
  }
  ms.knnAccuracy = now() - t;
  random.dispose();
  vit.dispose();

  // One DINO step of the page's default run (the demo's size), median after the first.
  const args = {
    embedDim: 64, depth: 4, numHeads: 4, outDim: 256, localCrops: 4, patchSize: 4, imgSize: 32,
    batchSize: o.trainBatch, steps: o.trainSteps, monitorEvery: 0, monitorBank: 512, monitorTest: 256, lr: 0.004, seed: 0, shapes: info.shapes,
  };
  const s = await trainSetup.setupTraining(args);
  const steps = [];
  let step = 0;
  for await (const batch of s.loader.iterate({ endEpoch: s.epochs })) {
    if (step >= args.steps) break;
    t = now();
    const crops = trainSetup.stepCrops(s, batch, args.seed, step);
    await s.trainer.step(crops, step);
    tf.dispose(crops);
    steps.push(now() - t);
    step++;
  }
  s.trainer.dispose();
  ms.trainStep = median(steps.slice(1));

  return {
    env: { node: process.version, backend: tf.getBackend(), kernels, relaxedSimd: wasmKernelsInfo()?.relaxedSimd ?? false, threads: 1 },
    options: o,
    knn: top1,
    ms,
    tensorsLeft: tf.memory().numTensors,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
  const r = await nodeBench();
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(`Node ${r.env.node}, ${r.env.backend} + ${r.env.kernels} dino-ts kernels, relaxed SIMD ${r.env.relaxedSimd}, 1 thread\n`);
    for (const [k, v] of Object.entries(r.ms)) process.stdout.write(`${k.padEnd(16)} ${v.toFixed(1).padStart(9)} ms\n`);
    process.stdout.write(`k-NN top-1 (bank ${r.options.knnBank}, held out ${r.options.knnTest}): trained ${r.knn.trained.toFixed(1)}%, random ${r.knn.random.toFixed(1)}%\n`);
  }
}
