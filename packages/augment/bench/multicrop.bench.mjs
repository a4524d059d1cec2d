// Multi-crop throughput of the built package: images/s through MultiCropAugmentation.apply with
// the reference configuration scaled to the input size (2 global + 8 local crops per image,
// rendering mode 'auto'). Prints one JSON line per input size and kernel set:
// {name, impl, backend, threads, img_per_s, batch, crops}.
//
// On wasm it runs the stock tfjs-backend-wasm kernels, then, when the workspace's
// @dino-ts/wasm-kernels is built, again with its kernels registered over the stock ones.
//
//   pnpm --filter @dino-ts/augment build && node packages/augment/bench/multicrop.bench.mjs [--backend wasm|cpu] [--seconds 5]
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { createDinoAugmentation, dinoAugmentConfigForImageSize } from '../dist/index.js';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const backend = arg('backend', 'wasm');
const seconds = Number(arg('seconds', '5'));

let threads = 1;
if (backend === 'wasm') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  threads = wasm.getThreadsCount();
} else if (backend === 'cpu') {
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
} else {
  throw new Error(`unknown --backend ${backend} (wasm or cpu)`);
}
await tf.ready();

const cases = [
  { size: 32, batch: 64 },
  { size: 224, batch: 8 },
];

function run(impl) {
  for (const { size, batch } of cases) {
    const aug = createDinoAugmentation(dinoAugmentConfigForImageSize(size));
    const images = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 0);
    const rng = new Rng(0);
    const step = () => {
      const crops = aug.apply(images, rng);
      for (const c of crops) c.dataSync();
      for (const c of crops) c.dispose();
    };
    step(); // warm-up: kernel set-up, first allocations
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000 || n < 2) {
      step();
      n++;
    }
    const dt = (performance.now() - t0) / 1000;
    images.dispose();
    const c = aug.config;
    console.log(
      JSON.stringify({
        name: `multicrop_${size}px`,
        impl,
        backend,
        threads,
        img_per_s: Number(((n * batch) / dt).toFixed(2)),
        batch,
        crops: `2x${c.globalCropsSize}+${c.localCropsNumber}x${c.localCropsSize}`,
      }),
    );
  }
}

run(backend === 'wasm' ? '@dino-ts/augment (stock wasm kernels)' : '@dino-ts/augment');

if (backend === 'wasm') {
  let kernels = null;
  try {
    kernels = await import('../../wasm-kernels/dist/index.js');
  } catch {
    console.error('(@dino-ts/wasm-kernels not built: skipping the run with its kernels)');
  }
  if (kernels) {
    await kernels.registerWasmKernels();
    run('@dino-ts/augment + @dino-ts/wasm-kernels');
  }
}
