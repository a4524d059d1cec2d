// Smoke test of the built packages under plain Node (no vitest, no aliases): imports the tsup
// output of @dino-ts/dino (and through it core, backbones, head), selects the wasm backend and
// runs one DINO training step. Gradients must come from @dino-ts/core's bundled registration.
//
//   (cd packages/core && npx tsup) && (cd packages/backbones && npx tsup) \
//     && (cd packages/head && npx tsup) && (cd packages/dino && npx tsup)
//   node packages/dino/scripts/node-smoke.mjs
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@dino-ts/core';
import { DinoTrainer } from '../dist/index.js';

await tf.setBackend('wasm');
await tf.ready();

const trainer = new DinoTrainer({
  backbone: { arch: 'vit', options: { imgSize: 16, patchSize: 4, embedDim: 32, depth: 2, numHeads: 2 } },
  head: { outDim: 64, hiddenDim: 48, bottleneckDim: 16 },
  multicrop: { localCropsNumber: 2 },
  optim: { warmupEpochs: 1 },
  batchSize: 4,
  epochs: 2,
  itersPerEpoch: 2,
});
const rng = new Rng(0);
const image = (px) => tf.tensor4d(Float32Array.from({ length: 4 * px * px * 3 }, () => rng.normal()), [4, px, px, 3]);
const crops = [image(16), image(16), image(8), image(8)];

const before = trainer.student.params().get('backbone.blocks.0.attn.qkv.weight').dataSync().slice();
const metrics = await trainer.step(crops, 1);
const after = trainer.student.params().get('backbone.blocks.0.attn.qkv.weight').dataSync();
const moved = after.some((v, i) => v !== before[i]);

console.log(`backend ${tf.getBackend()}:`, JSON.stringify(metrics));
if (!Number.isFinite(metrics.loss) || !moved) {
  console.error('smoke test FAILED: ' + (!moved ? 'the step did not update the student' : 'non-finite loss'));
  process.exit(1);
}
tf.dispose(crops);
trainer.dispose();
console.log('node smoke test passed');
