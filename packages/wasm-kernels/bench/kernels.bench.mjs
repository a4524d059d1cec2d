#!/usr/bin/env node
/**
 * Stock tfjs-backend-wasm kernels vs @dino-ts/wasm-kernels, in one process, on the sizes of
 * TFJS-NOTES (ViT dim 192, 50 tokens, batch 64) and on a whole ViT training step (forward +
 * backward of mean(cls^2); dim 192, depth 6, 3 heads, patch 4, 28x28x1, batch 64).
 *
 * Prints one JSON line per measurement:
 *   {name, impl: 'dino-ts' | 'tfjs-stock', backend: 'wasm', threads: 1, ms, gflops | img_per_s,
 *    peak_rss_mb}
 * and a ratio line per pair. Needs the built packages (`pnpm build`):
 *   node packages/wasm-kernels/bench/kernels.bench.mjs [--steps 3] [--reps 7] [--batch 64]
 *        [--only matmul,transpose,...] [--no-step] [--no-kernels] [--relaxed | --no-relaxed]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '3' },
    reps: { type: 'string', default: '7' },
    batch: { type: 'string', default: '64' },
    only: { type: 'string' },
    'no-step': { type: 'boolean', default: false },
    'no-kernels': { type: 'boolean', default: false },
    // Node 20 runs relaxed SIMD (the fused multiply-add GEMM) only with this V8 flag; Node 22+
    // has it on. --relaxed sets it; --no-relaxed makes the kernels use the SIMD128 GEMM.
    relaxed: { type: 'boolean', default: false },
    'no-relaxed': { type: 'boolean', default: false },
  },
});

// Gradients are registered by @dino-ts/core's bundle (the tfjs-core Node bundle registers none).
await importBuilt('../../core/dist/index.js', '@dino-ts/core');
const kernels = await importBuilt('../dist/index.js', '@dino-ts/wasm-kernels');
const { unregisterWasmKernels, wasmKernelsInfo } = kernels;
if (args.relaxed && !kernels.tryEnableRelaxedSimd()) console.error('kernels.bench: relaxed SIMD is not available here');
let relaxedUsed = false;
const registerWasmKernels = async () => {
  await kernels.registerWasmKernels({ relaxedSimd: !args['no-relaxed'] });
  relaxedUsed = wasmKernelsInfo()?.relaxedSimd ?? false;
};

async function importBuilt(rel, name) {
  try {
    return await import(new URL(rel, import.meta.url).href);
  } catch (e) {
    console.error(`kernels.bench: cannot load the built ${name} (${e.message}); run \`pnpm build\` first`);
    process.exit(1);
  }
}

await tf.setBackend('wasm');
await tf.ready();

let peakRss = 0;
function rssMb() {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return Math.round(peakRss / 2 ** 20);
}

function emit(rec) {
  const extra = rec.impl === 'dino-ts' ? { relaxed_simd: relaxedUsed } : {};
  console.log(JSON.stringify({ ...rec, ...extra, backend: 'wasm', threads: 1, peak_rss_mb: rssMb() }));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Best-of-reps wall time (ms) of f(), which returns tensors to free. The wasm backend computes
 * synchronously, so the kernel is done when f returns; reading the result back (a copy out of
 * wasm memory) is left out of the time. Best-of because the machines are shared: the minimum is
 * the least disturbed run.
 */
function timeOp(f, reps) {
  tf.dispose(f()); // warm-up (compilation, allocation)
  const times = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = f();
    times.push(performance.now() - t0);
    tf.dispose(out);
  }
  return Math.min(...times);
}

const reps = Number(args.reps);
const only = args.only ? args.only.split(',') : null;

/** [name, flops or null, make inputs, op] on the TFJS-NOTES sizes. */
function kernelCases() {
  const r = (shape, seed) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const mm = (m, k, n, ta, tb) => ({
    inputs: () => [r(ta ? [k, m] : [m, k], 1), r(tb ? [n, k] : [k, n], 2)],
    op: ([a, b]) => tf.matMul(a, b, ta, tb),
    flops: 2 * m * k * n,
  });
  return [
    ['matmul_3200x192x576', mm(3200, 192, 576, false, false)],
    ['matmul_3200x192x576_transposeA', mm(3200, 192, 576, true, false)],
    ['matmul_3200x192x576_transposeB', mm(3200, 192, 576, false, true)],
    ['matmul_dW_192x3200x768_transposeA', mm(192, 3200, 768, true, false)],
    ['matmul_dX_3200x768x192_transposeB', mm(3200, 768, 192, false, true)],
    ['batched_matmul_qkT_192x50x64', {
      inputs: () => [r([192, 50, 64], 3), r([192, 50, 64], 4)],
      op: ([q, k]) => tf.matMul(q, k, false, true),
      flops: 2 * 192 * 50 * 50 * 64,
    }],
    ['batched_matmul_attnV_192x50x50x64', {
      inputs: () => [r([192, 50, 50], 3), r([192, 50, 64], 4)],
      op: ([a, v]) => tf.matMul(a, v),
      flops: 2 * 192 * 50 * 50 * 64,
    }],
    ['fused_matmul_bias_relu_3200x192x576', {
      inputs: () => [r([3200, 192], 5), r([192, 576], 6), r([576], 7)],
      op: ([a, b, bias]) => tf.fused.matMul({ a, b, bias, activation: 'relu' }),
      flops: 2 * 3200 * 192 * 576,
    }],
    ['transpose_5d_64x50x3x3x64_perm20314', {
      inputs: () => [r([64, 50, 3, 3, 64], 8)],
      op: ([x]) => tf.transpose(x, [2, 0, 3, 1, 4]),
    }],
    ['transpose_2d_3200x576', { inputs: () => [r([3200, 576], 9)], op: ([x]) => tf.transpose(x) }],
    ['tanh_2.5M', { inputs: () => [r([64, 50, 768], 10)], op: ([x]) => tf.tanh(x) }],
    ['erf_2.5M', { inputs: () => [r([64, 50, 768], 10)], op: ([x]) => tf.erf(x) }],
    ['exp_2.5M', { inputs: () => [r([64, 50, 768], 10)], op: ([x]) => tf.exp(x) }],
    ['pow3_2.5M', { inputs: () => [r([64, 50, 768], 10)], op: ([x]) => tf.pow(x, 3) }],
    ['gelu_2.5M', {
      inputs: () => [r([64, 50, 768], 10)],
      op: ([x]) => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))),
    }],
    ['mul_2.5M', { inputs: () => [r([64, 50, 768], 10), r([64, 50, 768], 11)], op: ([x, y]) => tf.mul(x, y) }],
    ['add_bias_64x50x768', { inputs: () => [r([64, 50, 768], 10), r([768], 11)], op: ([x, b]) => tf.add(x, b) }],
    ['sum_bias_grad_64x50x768_axes01', { inputs: () => [r([64, 50, 768], 10)], op: ([x]) => tf.sum(x, [0, 1]) }],
    ['layernorm_moments_64x50x192', {
      inputs: () => [r([64, 50, 192], 12)],
      op: ([x]) => tf.tidy(() => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6)));
      }),
    }],
    ['softmax_64x3x50x50', { inputs: () => [r([64, 3, 50, 50], 13)], op: ([x]) => tf.softmax(x) }],
    ['split_qkv_64x50x576', { inputs: () => [r([64, 50, 576], 14)], op: ([x]) => tf.split(x, 3, 2) }],
    ['clone_2.5M', { inputs: () => [r([64, 50, 768], 10)], op: ([x]) => tf.clone(x) }],
  ];
}

async function benchKernels() {
  for (const [name, c] of kernelCases()) {
    if (only && !only.some((o) => name.includes(o))) continue;
    const inputs = c.inputs();
    const res = {};
    for (const impl of ['tfjs-stock', 'dino-ts']) {
      if (impl === 'dino-ts') await registerWasmKernels();
      else unregisterWasmKernels();
      const ms = timeOp(() => c.op(inputs), reps);
      res[impl] = ms;
      const rec = { name, impl, ms: +ms.toFixed(3) };
      if (c.flops) rec.gflops = +(c.flops / ms / 1e6).toFixed(2);
      emit(rec);
    }
    console.log(JSON.stringify({ name, speedup: +(res['tfjs-stock'] / res['dino-ts']).toFixed(2) }));
    tf.dispose(inputs);
  }
}

/** The ViT of the benchmark: @dino-ts/backbones when built, else the plain-op copy here. */
async function makeStep(batch) {
  const cfg = { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 192, depth: 6, numHeads: 3 };
  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 1);
  try {
    const { createBackbone } = await import(new URL('../../backbones/dist/index.js', import.meta.url).href);
    const vit = createBackbone('vit', cfg);
    const vars = [...vit.params().values()];
    return {
      source: '@dino-ts/backbones',
      step: () => {
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(vit.forward(x))), vars);
        tf.dispose([value, ...Object.values(grads)]);
      },
    };
  } catch {
    const { createVit, vitStep } = await import('./vit-step.mjs');
    const model = createVit(tf, { dim: cfg.embedDim, depth: cfg.depth, heads: cfg.numHeads, patch: 4, img: 28, chans: 1 });
    return {
      source: 'bench/vit-step.mjs',
      step: () => {
        const { value, grads } = vitStep(tf, model, x);
        tf.dispose([value, ...Object.values(grads)]);
      },
    };
  }
}

async function benchStep() {
  const batch = Number(args.batch);
  const steps = Number(args.steps);
  const { source, step } = await makeStep(batch);
  const times = { 'tfjs-stock': [], 'dino-ts': [] };
  // Warm-up each, then alternate so drifting machine load hits both alike.
  for (let s = -1; s < steps; s++) {
    for (const impl of ['dino-ts', 'tfjs-stock']) {
      if (impl === 'dino-ts') await registerWasmKernels();
      else unregisterWasmKernels();
      const t0 = performance.now();
      step();
      if (s >= 0) times[impl].push(performance.now() - t0);
    }
  }
  const res = {};
  for (const impl of ['tfjs-stock', 'dino-ts']) {
    const ms = median(times[impl]);
    res[impl] = ms;
    emit({
      name: `vit_step_d192_depth6_h3_p4_28px_b${batch}`, impl, model: source, ms: Math.round(ms),
      img_per_s: +((batch * 1000) / ms).toFixed(2), steps,
    });
  }
  console.log(JSON.stringify({ name: `vit_step_d192_depth6_h3_p4_28px_b${batch}`, speedup: +(res['tfjs-stock'] / res['dino-ts']).toFixed(2) }));
}

if (!args['no-kernels']) await benchKernels();
if (!args['no-step']) await benchStep();
unregisterWasmKernels();
