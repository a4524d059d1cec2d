#!/usr/bin/env node
/**
 * The built package under plain Node: ESM and CJS entry points load, the kernels register on the
 * wasm backend, and a transposed matMul gives the stock kernel's values. Prints one JSON line.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { registerWasmKernels, unregisterWasmKernels, registeredWasmKernels } from '../dist/index.js';

const require = createRequire(import.meta.url);
const cjs = require('../dist/index.cjs');

await tf.setBackend('wasm');
const a = tf.randomNormal([37, 29], 0, 1, 'float32', 1);
const b = tf.randomNormal([41, 29], 0, 1, 'float32', 2);
const stock = tf.matMul(a, b, false, true).dataSync();
const names = await registerWasmKernels();
const ours = tf.matMul(a, b, false, true).dataSync();
let maxErr = 0;
for (let i = 0; i < stock.length; i++) maxErr = Math.max(maxErr, Math.abs(stock[i] - ours[i]));
const registered = registeredWasmKernels().length;
unregisterWasmKernels();
console.log(JSON.stringify({
  backend: tf.getBackend(),
  registered,
  kernels: names.length,
  maxErr,
  cjsRegister: typeof cjs.registerWasmKernels,
}));
