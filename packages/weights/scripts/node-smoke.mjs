// Plain-Node check of the built package (dist/), outside vitest: the ESM and CJS entries load
// without the workspace's source aliases, a published-style .pth loads into a ViT on wasm, and
// writePth's output reads back. Run after `npx tsup`: node scripts/node-smoke.mjs (one JSON line)
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { loadVisionTransformer, readWeights, writePth } from '@dino-ts/weights';

const cjs = createRequire(import.meta.url)('@dino-ts/weights');

await tf.setBackend('wasm');
await tf.ready();
const bytes = new Uint8Array(readFileSync(new URL('../fixtures/vit.pth', import.meta.url)));
const file = readWeights(bytes, { source: 'vit.pth' });
const vit = loadVisionTransformer(file);
const x = tf.zeros([1, 32, 32, 3]);
const cls = vit.forward(x);
const again = readWeights(writePth(file.backbone));
const cjsFile = cjs.readWeights(bytes);
console.log(JSON.stringify({
  backend: tf.getBackend(),
  format: file.format,
  arch: file.arch,
  clsShape: cls.shape,
  finite: cls.dataSync().every(Number.isFinite),
  roundTrip: Object.keys(again.backbone).length === Object.keys(file.backbone).length,
  cjsTensors: Object.keys(cjsFile.backbone).length,
}));
