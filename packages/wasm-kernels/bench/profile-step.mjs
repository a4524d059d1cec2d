import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '../../core/dist/index.js';
import { createVit, vitStep } from './vit-step.mjs';
/**
 * Per-kernel profile of one ViT training step (the benchmark configuration) on the wasm backend:
 * `node bench/profile-step.mjs` (stock kernels) or `FAST=1 node bench/profile-step.mjs` (this
 * package's kernels, from dist). PLAIN=1 uses the plain-op ViT of vit-step.mjs instead of
 * @dino-ts/backbones.
 */
await tf.setBackend('wasm');
const B = +(process.env.B || 64);
const x = tf.randomNormal([B, 28, 28, 1]);
if (process.env.FAST) await (await import('../dist/index.js')).registerWasmKernels();
let step;
if (process.env.PLAIN) {
  const model = createVit(tf, {});
  step = () => { const r = vitStep(tf, model, x); r.value.dispose(); Object.values(r.grads).forEach(g => g.dispose()); };
} else {
  const { createBackbone } = await import('../../backbones/dist/index.js');
  const vit = createBackbone('vit', { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 192, depth: 6, numHeads: 3 });
  const vars = [...vit.params().values()];
  step = () => { const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(vit.forward(x))), vars); tf.dispose([value, ...Object.values(grads)]); };
}
step();
const t0 = performance.now();
const prof = await tf.profile(step);
const t1 = performance.now();
const agg = new Map();
let total = 0;
for (const k of prof.kernels) {
  const key = k.name + ' ' + JSON.stringify(k.inputShapes) + (k.extraInfo || '');
  const byName = agg.get(k.name) || { ms: 0, n: 0, shapes: new Map() };
  byName.ms += k.kernelTimeMs; byName.n++; total += k.kernelTimeMs;
  const sk = JSON.stringify(k.inputShapes);
  const prev = byName.shapes.get(sk) || { ms: 0, n: 0, flops: 0 };
  prev.ms += k.kernelTimeMs;
  prev.n++;
  if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') {
    // K from A's per-matrix size and the output's M.
    const out = k.outputShapes[0];
    const m = out[out.length - 2];
    const a = k.inputShapes[0];
    const aMat = a[a.length - 1] * a[a.length - 2];
    const outSize = out.reduce((x, y) => x * y, 1);
    prev.flops += 2 * outSize * (aMat / m);
  }
  byName.shapes.set(sk, prev);
  agg.set(k.name, byName);
}
console.log(`wall ${(t1 - t0).toFixed(0)} ms, kernel sum ${total.toFixed(0)} ms`);
for (const [name, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(`${name.padEnd(16)} ${v.ms.toFixed(0).padStart(7)} ms  n=${v.n}  ${(100 * v.ms / total).toFixed(1)}%`);
  for (const [s, e] of [...v.shapes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6)) {
    if (e.ms < 10) continue;
    const gf = e.flops ? `  ${(e.flops / e.ms / 1e6).toFixed(1)} GFLOP/s` : '';
    console.log(`      ${e.ms.toFixed(0).padStart(6)} ms  n=${e.n}  ${s}${gf}`);
  }
}
