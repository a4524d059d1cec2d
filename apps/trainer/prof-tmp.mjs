import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@dino-ts/core';
import { DinoTrainer } from '@dino-ts/dino';
import * as k from '@dino-ts/wasm-kernels';
const threads = Number(process.argv[2] ?? 1);
if (threads > 1) k.prepareWasmThreads();
await tf.setBackend('wasm'); k.tryEnableRelaxedSimd(); await k.registerWasmKernels({ threads });
const rng = new Rng(0);
const images = (b, px, c) => tf.tensor4d(Float32Array.from({ length: b * px * px * c }, () => rng.normal()), [b, px, px, c]);
const batch = 64;
const trainer = new DinoTrainer({
  backbone: { arch: 'vit', options: { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 192, depth: 6, numHeads: 3 }, dropPathRate: 0.1 },
  head: { outDim: 4096, hiddenDim: 2048, bottleneckDim: 256 }, multicrop: { localCropsNumber: 6 }, optim: { warmupEpochs: 1 },
  batchSize: batch, epochs: 100, itersPerEpoch: 100, microBatch: Number(process.env.MB ?? 16), backward: process.env.BW ?? 'perView',
});
const crops = [images(batch, 28, 1), images(batch, 28, 1), ...Array.from({ length: 6 }, () => images(batch, 12, 1))];
await trainer.step(crops, 200);
// wrap kernels with timers
const times = new Map();
const reg = tf.getKernelsForBackend('wasm');
for (const cfg of reg) {
  const f = cfg.kernelFunc;
  tf.unregisterKernel(cfg.kernelName, 'wasm');
  tf.registerKernel({ ...cfg, kernelFunc: (args) => { const t = performance.now(); const r = f(args); const e = times.get(cfg.kernelName) ?? [0, 0]; e[0] += performance.now() - t; e[1]++; times.set(cfg.kernelName, e); return r; } });
}
const signK = tf.getKernel("Sign","wasm"); tf.unregisterKernel("Sign","wasm"); tf.registerKernel({...signK, kernelFunc: (a) => { if (process.env.SHOW) console.log("Sign", a.inputs.x.shape, new Error().stack.split("\n").slice(6,14).join(" / ")); return signK.kernelFunc(a); }});
const t0 = performance.now();
await trainer.step(crops, 201);
const total = performance.now() - t0;
let ksum = 0;
const rows = [...times].sort((a, b) => b[1][0] - a[1][0]);
for (const [n, [ms, c]] of rows) ksum += ms;
console.log('step', total.toFixed(0), 'ms; kernels', ksum.toFixed(0), 'ms');
for (const [n, [ms, c]] of rows.slice(0, 40)) console.log(n.padEnd(22), ms.toFixed(1).padStart(8), String(c).padStart(6));
