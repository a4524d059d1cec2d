// One measurement in its own process (so peak memory is its own): prints one JSON line.
//   node apps/trainer/bench/measure.mjs <dino-step|vit-s16-infer> <dino-ts|tfjs-stock|tfjs-cpu> [steps] [threads]
//   node apps/trainer/bench/measure.mjs vit-s16-infer <onnxruntime-node|onnxruntime-web> [steps] [threads]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@dino-ts/core';
import { createBackbone } from '@dino-ts/backbones';
import { createRequire } from 'node:module';
import { medianSeconds, randomImages, timeDinoStep, timeVitS16, vitS16Flops } from './workloads.mjs';

const [name, impl, stepsArg, threadsArg] = process.argv.slice(2);
const backend = impl === 'tfjs-cpu' ? 'cpu' : 'wasm';
// What the row reports: the tfjs backend and one thread, unless a measurement runs elsewhere.
let rowBackend = backend;
let threads = Number(threadsArg ?? 1);
const kernels = impl === 'dino-ts' ? await import('@dino-ts/wasm-kernels') : null;
// Kernels on more than one thread need the backend's memory shared, arranged before it starts.
if (kernels != null && threads > 1) kernels.prepareWasmThreads();
await tf.setBackend(backend);
await tf.ready();
if (kernels != null) {
  kernels.tryEnableRelaxedSimd();
  await kernels.registerWasmKernels({ threads });
}
const rng = new Rng(0);
const images = (b, px, c) => randomImages(rng, b, px, c);
let batch;
let sec;
if (name === 'dino-step') {
  batch = 64;
  // The stock kernels' extra copies overflow the wasm heap with whole-batch passes (an emscripten
  // abort), so they keep the library's 16-row passes.
  sec = await timeDinoStep({ batch, steps: Number(stepsArg ?? 4), microBatch: impl === 'tfjs-stock' ? 16 : 0 });
} else if (name === 'vit-s16-infer' && impl.startsWith('onnxruntime')) {
  // The same ViT-S/16 (same random init) and images as the dino-ts case, exported by @dino-ts/onnx
  // and run by onnxruntime: the native addon (onnxruntime-node, CPU provider) or its WebAssembly
  // build (onnxruntime-web, SIMD). Both are devDependencies of packages/onnx, so they and the
  // built exporter are loaded from there.
  batch = 8;
  const fromOnnx = createRequire(new URL('../../../packages/onnx/package.json', import.meta.url));
  const { exportOnnx } = await import(new URL('../../../packages/onnx/dist/index.js', import.meta.url).href);
  const vit = createBackbone('vit_small', { patchSize: 16 });
  const x = images(batch, 224, 3);
  const nchw = tf.transpose(x, [0, 3, 1, 2]);
  const pixels = await nchw.data();
  const model = await exportOnnx(vit, { attention: false });
  tf.dispose([x, nchw]);
  vit.dispose();
  let ort, sessionOptions;
  if (impl === 'onnxruntime-web') {
    ort = fromOnnx('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    rowBackend = 'wasm';
    sessionOptions = { executionProviders: ['wasm'] };
  } else if (impl === 'onnxruntime-node') {
    ort = fromOnnx('onnxruntime-node');
    rowBackend = 'cpu (native)';
    sessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
  } else {
    throw new Error(`unknown implementation ${impl}`);
  }
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', ...sessionOptions });
  const feeds = { images: new ort.Tensor('float32', pixels, [batch, 3, 224, 224]) };
  sec = await medianSeconds(Number(stepsArg ?? 3), async () => {
    const out = await session.run(feeds);
    if (out.cls.dims[0] !== batch) throw new Error(`onnxruntime returned cls [${out.cls.dims}]`);
  });
  await session.release();
} else if (name === 'vit-s16-infer') {
  batch = 8;
  sec = await timeVitS16({ batch, steps: Number(stepsArg ?? 3) });
} else {
  throw new Error(`unknown measurement ${name}`);
}
const s = sec;
// The ViT's arithmetic per image: the dino-ts backbone (with its kernels or the stock ones) runs
// the last block for the CLS token alone, an ONNX graph for every token.
const flop = name === 'vit-s16-infer' ? { gflop_per_img: +(vitS16Flops({ clsOnlyLast: !impl.startsWith('onnxruntime') }) / 1e9).toFixed(3) } : {};
console.log(JSON.stringify({ name, impl, backend: rowBackend, threads, batch, sec_per_iter: +s.toFixed(4), img_per_s: +(batch / s).toFixed(2), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), ...flop }));
