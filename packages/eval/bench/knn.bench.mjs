#!/usr/bin/env node
/**
 * Raw-pixel weighted k-NN on Fashion-MNIST (60k train vs 10k test, T = 0.07), the protocol of
 * eval_knn.py; the reference (PyTorch) gives top-1 84.59 / top-5 98.82 at k = 20.
 *
 *   pnpm --filter @dino-ts/eval build && node packages/eval/bench/knn.bench.mjs [--backend wasm|cpu]
 *     [--chunk 256] [--test 10000] [--dir /usr/share/datasets/fashion-mnist]
 *
 * Also times one similarity block computed by plain JavaScript loops, the alternative to the
 * backend's matMul.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { knnClassifier } from '@dino-ts/eval';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    chunk: { type: 'string', default: '256' },
    test: { type: 'string', default: '10000' },
    dir: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
  },
});

/** IDX file (gzip) -> { dims, data: Uint8Array }. */
function readIdx(path) {
  const raw = gunzipSync(readFileSync(path));
  const ndim = raw[3];
  const dims = Array.from({ length: ndim }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return { dims, data: raw.subarray(4 + 4 * ndim) };
}

function load(prefix, limit) {
  const images = readIdx(`${args.dir}/${prefix}-images-idx3-ubyte.gz`);
  const labels = readIdx(`${args.dir}/${prefix}-labels-idx1-ubyte.gz`);
  const n = Math.min(images.dims[0], limit);
  const dim = images.dims[1] * images.dims[2];
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n * dim; i++) data[i] = images.data[i] / 255;
  return { features: { data, rows: n, dim }, labels: Int32Array.from(labels.data.subarray(0, n)) };
}

/** GFLOP/s of a plain JavaScript similarity block: rows x train.rows dot products. */
function hostBlockGflops(train, test, rows) {
  const { dim } = train;
  const out = new Float32Array(rows * train.rows);
  const t0 = performance.now();
  for (let r = 0; r < rows; r++) {
    const q = test.data.subarray(r * dim, (r + 1) * dim);
    for (let j = 0; j < train.rows; j++) {
      let s = 0;
      const off = j * dim;
      for (let d = 0; d < dim; d++) s += q[d] * train.data[off + d];
      out[r * train.rows + j] = s;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return (2 * rows * train.rows * dim) / seconds / 1e9;
}

await tf.setBackend(args.backend);
await tf.ready();
const train = load('train', 60000);
const test = load('t10k', Number(args.test));
console.log(`backend ${tf.getBackend()}, train ${train.features.rows}, test ${test.features.rows}, dim ${train.features.dim}, chunk ${args.chunk}`);

const t0 = performance.now();
const report = await knnClassifier(train.features, train.labels, test.features, test.labels, {
  k: [10, 20, 100, 200], T: 0.07, numClasses: 10, chunkSize: Number(args.chunk),
});
const seconds = (performance.now() - t0) / 1000;
for (const r of report.results) console.log(`k=${r.k}: top1 ${r.top1.toFixed(2)}%  top5 ${r.top5.toFixed(2)}%`);
const gflop = (2 * train.features.rows * test.features.rows * train.features.dim) / 1e9;
console.log(`knnClassifier: ${seconds.toFixed(1)} s (${(gflop / seconds).toFixed(1)} GFLOP/s over the similarity matMuls, ${(test.features.rows / seconds).toFixed(0)} test rows/s)`);
console.log(`plain JavaScript similarity block (16 test rows): ${hostBlockGflops(train.features, test.features, 16).toFixed(2)} GFLOP/s`);
console.log(`tensors left: ${tf.memory().numTensors}`);
