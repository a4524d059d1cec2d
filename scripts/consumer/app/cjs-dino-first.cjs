// CommonJS, dino-ts required before tfjs-core.
'use strict';
const backbones = require('@dino-ts/backbones');
const core = require('@dino-ts/core');
const dino = require('@dino-ts/dino');
const wasmKernels = require('@dino-ts/wasm-kernels');
require('@tensorflow/tfjs-backend-wasm');
const tf = require('@tensorflow/tfjs-core');
const { run } = require('./checks.cjs');

(async () => {
  // The other module system: the ESM builds, through import().
  const backbonesOther = await import('@dino-ts/backbones');
  const tfOther = await import('@tensorflow/tfjs-core');
  const r = await run({ tf, tfOther, core, backbones, backbonesOther, dino, wasmKernels, label: 'cjs dino-ts first' });
  console.log(JSON.stringify(r));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
