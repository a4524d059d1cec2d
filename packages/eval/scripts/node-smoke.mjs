// The built @dino-ts/eval under plain Node: ESM and CJS entry points (the main one and /node), k-NN
// on a ViT's features on the wasm backend, an attention mask, a PNG. Prints one JSON line.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { createBackbone } from '@dino-ts/backbones';
import { attentionMaps, attentionMask, evaluateKnn, fromArrays, heatmapImage } from '@dino-ts/eval';
// PNG encoding needs sharp, so it is in the Node-only entry.
import { encodePng } from '@dino-ts/eval/node';

await tf.setBackend('wasm');
await tf.ready();
const vit = createBackbone('vit', { imgSize: 16, patchSize: 4, embedDim: 16, depth: 2, numHeads: 2 });
const n = 8;
const data = Float32Array.from({ length: n * 16 * 16 * 3 }, (_, i) => Math.sin(i * 0.01) * ((Math.floor(i / 768) % 2) ? 1 : -1));
const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
const source = fromArrays({ data, shape: [n, 16, 16, 3] }, labels);
const report = await evaluateKnn(vit, source, source, { k: [1, 3] });
const x = tf.tensor4d(data.subarray(0, 768), [1, 16, 16, 3]);
const { perHead, mean } = attentionMaps(vit, x);
const mask = await attentionMask(perHead, 0.6);
const png = await encodePng(heatmapImage(await mean.data(), 4, 4));
const require = createRequire(import.meta.url);
const cjs = require('@dino-ts/eval');
const cjsNode = require('@dino-ts/eval/node');
console.log(JSON.stringify({
  backend: tf.getBackend(),
  knnTop1: report.results.map((r) => r.top1),
  maskShape: mask.shape,
  pngBytes: png.length,
  cjsKnn: typeof cjs.knnClassifier,
  cjsPng: typeof cjsNode.encodePng,
}));
