// Plain-Node check of the built package (dist/), outside vitest: the ESM and CJS entries load,
// gradients are registered, and a ViT trains one step on the wasm backend.
// Run after `npx tsup`: node scripts/node-smoke.mjs  (prints one JSON line)
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { createBackbone, listBackbones } from '@dino-ts/backbones';

const cjs = createRequire(import.meta.url)('@dino-ts/backbones');

await tf.setBackend('wasm');
await tf.ready();
const vit = createBackbone('vit', { imgSize: 16, patchSize: 4, embedDim: 16, depth: 2, numHeads: 2, dropPathRate: 0.1 });
const x = tf.randomNormal([2, 12, 16, 3]);
const cls = vit.forward(x);
const params = [...vit.params().values()];
const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(vit.forward(x, { training: true }))), params);
const finite = params.every((p) => grads[p.name].dataSync().every(Number.isFinite));
console.log(JSON.stringify({
  backend: tf.getBackend(),
  clsShape: cls.shape,
  loss: value.dataSync()[0],
  gradients: Object.keys(grads).length,
  params: params.length,
  finite,
  cjsCreateBackbone: typeof cjs.createBackbone,
  backbones: listBackbones(),
}));
