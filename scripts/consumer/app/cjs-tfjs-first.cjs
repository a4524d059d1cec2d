// CommonJS, tfjs-core and its backend required before dino-ts.
'use strict';
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-wasm');
const backbones = require('@dino-ts/backbones');
const core = require('@dino-ts/core');
const dino = require('@dino-ts/dino');
const wasmKernels = require('@dino-ts/wasm-kernels');
const { run } = require('./checks.cjs');

(async () => {
  const backbonesOther = await import('@dino-ts/backbones');
  const tfOther = await import('@tensorflow/tfjs-core');
  const r = await run({ tf, tfOther, core, backbones, backbonesOther, dino, wasmKernels, label: 'cjs tfjs first' });
  console.log(JSON.stringify(r));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
