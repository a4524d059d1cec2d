import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '../../core/dist/index.js';
import { createVit, vitStep } from './vit-step.mjs';
await tf.setBackend('wasm');
const B = +(process.env.B || 64);
const model = createVit(tf, {});
const x = tf.randomNormal([B, 28, 28, 1]);
const reg = process.env.FAST ? await import(process.env.FAST) : null;
if (reg) await reg.registerWasmKernels();
const fused = !!process.env.FUSED;
{ const r = vitStep(tf, model, x, { fused }); r.value.dispose(); Object.values(r.grads).forEach(g => g.dispose()); }
const t0 = performance.now();
const prof = await tf.profile(() => { const r = vitStep(tf, model, x, { fused }); r.value.dispose(); Object.values(r.grads).forEach(g => g.dispose()); });
const t1 = performance.now();
const agg = new Map();
let total = 0;
for (const k of prof.kernels) {
  const key = k.name + ' ' + JSON.stringify(k.inputShapes) + (k.extraInfo || '');
  const byName = agg.get(k.name) || { ms: 0, n: 0, shapes: new Map() };
  byName.ms += k.kernelTimeMs; byName.n++; total += k.kernelTimeMs;
  const sk = JSON.stringify(k.inputShapes);
  byName.shapes.set(sk, (byName.shapes.get(sk) || 0) + k.kernelTimeMs);
  agg.set(k.name, byName);
}
console.log(`wall ${(t1 - t0).toFixed(0)} ms, kernel sum ${total.toFixed(0)} ms`);
for (const [name, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(`${name.padEnd(16)} ${v.ms.toFixed(0).padStart(7)} ms  n=${v.n}`);
  for (const [s, ms] of [...v.shapes].sort((a, b) => b[1] - a[1]).slice(0, 4)) if (ms > 20) console.log(`      ${ms.toFixed(0).padStart(6)} ${s}`);
}
