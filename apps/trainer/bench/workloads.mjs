// The benchmark workloads, one definition for `pnpm bench` (measure.mjs) and the GPU script
// (scripts/gpu/bench.mjs): the DINO training step's configuration, its random crops, the
// ViT-S/16 forward pass, and how a repeated measurement is timed.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { createBackbone } from '@dino-ts/backbones';
import { DinoTrainer } from '@dino-ts/dino';

/** Standard-normal NHWC images from `rng`. */
export function randomImages(rng, batch, px, channels) {
  return tf.tensor4d(Float32Array.from({ length: batch * px * px * channels }, () => rng.normal()), [batch, px, px, channels]);
}

/**
 * The benchmark's DINO step: ViT 192 x 6, 3 heads, patch 4, 28 x 28 x 1; 2 x 28 px + 6 x 12 px
 * crops; head K 4096 (hidden 2048, bottleneck 256); AdamW and the EMA update. `small`: a 64 x 2
 * ViT and a K 256 head taking real steps (lr 0.1), for parity checks. `microBatch` 0 passes the
 * whole batch at once, as the PyTorch loop it is compared with.
 */
export function benchTrainer({ batch, small = false, microBatch = 0 }) {
  return new DinoTrainer({
    backbone: { arch: 'vit', options: { imgSize: 28, patchSize: 4, inChans: 1, embedDim: small ? 64 : 192, depth: small ? 2 : 6, numHeads: small ? 2 : 3 }, dropPathRate: small ? 0 : 0.1 },
    head: small ? { outDim: 256, hiddenDim: 128, bottleneckDim: 64 } : { outDim: 4096, hiddenDim: 2048, bottleneckDim: 256 },
    multicrop: { localCropsNumber: 6 },
    optim: small ? { warmupEpochs: 0, lr: 0.1 } : { warmupEpochs: 1 },
    batchSize: batch, epochs: 100, itersPerEpoch: 100, microBatch,
  });
}

/** The step's 8 crops: 2 global of 28 px and 6 local of 12 px, one channel. */
export function benchCrops(rng, batch) {
  return [randomImages(rng, batch, 28, 1), randomImages(rng, batch, 28, 1), ...Array.from({ length: 6 }, () => randomImages(rng, batch, 12, 1))];
}

/**
 * Median seconds of `steps` calls of `fn(i)` after one warm-up call (which compiles kernels,
 * shaders, or the engine's paths).
 */
export async function medianSeconds(steps, fn) {
  const times = [];
  for (let i = 0; i < steps + 1; i++) {
    const t = performance.now();
    await fn(i);
    if (i > 0) times.push((performance.now() - t) / 1000);
  }
  return [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** Median seconds of the DINO step (see benchTrainer) at `batch`. */
export async function timeDinoStep({ batch, steps, microBatch = 0, seed = 0 }) {
  const trainer = benchTrainer({ batch, microBatch });
  const crops = benchCrops(new Rng(seed), batch);
  const s = await medianSeconds(steps, (i) => trainer.step(crops, 200 + i));
  tf.dispose(crops);
  trainer.dispose();
  return s;
}

/**
 * FLOPs (2 per multiply-add) of one ViT-S/16 224 px forward's matrix products: the patch
 * embedding and 12 blocks (the q, k, v projections, both attention products, proj, fc1, fc2).
 * `clsOnlyLast`: the last block for the CLS token alone, as dino-ts runs it when only the CLS
 * feature is read (an ONNX export computes every token there).
 */
export function vitS16Flops({ clsOnlyLast }) {
  const d = 384, n = 197, heads = 6, hd = 64, hidden = 1536;
  const block = (q) => 2 * (q * d * d + n * d * 2 * d + 2 * heads * q * n * hd + q * d * d + q * d * hidden + q * hidden * d);
  return 2 * 196 * 768 * d + 11 * block(n) + block(clsOnlyLast ? 1 : n);
}

/** Median seconds of a ViT-S/16 forward pass of `batch` 224 px images (the CLS features read). */
export async function timeVitS16({ batch, steps, seed = 0 }) {
  const vit = createBackbone('vit_small', { patchSize: 16 });
  const x = randomImages(new Rng(seed), batch, 224, 3);
  const s = await medianSeconds(steps, async () => {
    const y = vit.forward(x);
    await y.data();
    y.dispose();
  });
  x.dispose();
  vit.dispose();
  return s;
}
