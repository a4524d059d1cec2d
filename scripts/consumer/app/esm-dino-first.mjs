// ESM, dino-ts imported before tfjs-core (what alphabetical import sorting produces).
import * as backbones from '@dino-ts/backbones';
import * as core from '@dino-ts/core';
import * as dino from '@dino-ts/dino';
import * as wasmKernels from '@dino-ts/wasm-kernels';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import checks from './checks.cjs';

const require = createRequire(import.meta.url);
const r = await checks.run({ tf, tfOther: require('@tensorflow/tfjs-core'), core, backbones, backbonesOther: require('@dino-ts/backbones'), dino, wasmKernels, label: 'esm dino-ts first' });
console.log(JSON.stringify(r));
