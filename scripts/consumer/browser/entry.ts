// The page's program: every dino-ts library package through its main entry, bundled for the
// browser by esbuild as a web application would, on tfjs-backend-wasm with the dino-ts kernels.
// It reports its numbers on `window.__dino` for the harness to assert.
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Rng } from '@dino-ts/core';
import { createDinoAugmentation, dinoAugmentConfigForImageSize } from '@dino-ts/augment';
import { createBackbone } from '@dino-ts/backbones';
import { DinoHead } from '@dino-ts/head';
import { DinoTrainer } from '@dino-ts/dino';
import { DataLoader, ShapesDataset, toTensor } from '@dino-ts/data';
import { attentionMaps, attentionMask, knnClassifier } from '@dino-ts/eval';
import { prepareWasmThreads, registerWasmKernels, wasmKernelsInfo } from '@dino-ts/wasm-kernels';

declare global {
  interface Window {
    __dino?: Record<string, unknown>;
  }
}

/**
 * The same matrix products, element-wise op and LayerNorm-like chain on one kernel thread and on
 * `threads`, every call split however small: true when both give the same bits.
 */
async function sameBitsOnThreads(threads: number): Promise<boolean> {
  const run = async (n: number): Promise<Float32Array[]> => {
    await registerWasmKernels({ threads: n, parallelThresholds: { elements: 1, macs: 1 } });
    const outs = tf.tidy(() => {
      const a = tf.randomNormal([67, 45], 0, 1, 'float32', 1), b = tf.randomNormal([123, 45], 0, 1, 'float32', 2);
      const y = tf.matMul(a, b, false, true);
      return [y, tf.exp(tf.mul(y, 0.01)), tf.transpose(tf.reshape(y, [67, 3, 41]), [1, 0, 2]), tf.sum(y, 1)];
    });
    const arrays = await Promise.all(outs.map(async (t) => new Float32Array(await t.data())));
    tf.dispose(outs);
    return arrays;
  };
  const one = await run(1);
  const many = await run(threads);
  return one.every((x, i) => x.length === many[i].length && x.every((v, j) => Object.is(v, many[i][j])));
}

async function main(): Promise<Record<string, unknown>> {
  // ?threads=N: the page is served cross-origin isolated, so tfjs loads its threaded build (a
  // shared memory, which prepareWasmThreads() finds) and the kernels can run on Web Workers.
  const threads = Number(new URL(location.href).searchParams.get('threads') ?? 1);
  if (threads > 1 && !prepareWasmThreads()) throw new Error('threads asked for, but the page is not cross-origin isolated');
  setWasmPaths('/wasm/');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  await tf.ready();
  const sameBits = threads > 1 ? await sameBitsOnThreads(threads) : null;
  await registerWasmKernels({ threads, parallelThresholds: threads > 1 ? { elements: 1, macs: 1 } : undefined });
  const info = wasmKernelsInfo();
  const rng = new Rng(1);

  // Property 1's measuring tools: a ViT forward pass and its last-block CLS attention.
  const vit = createBackbone('vit', { imgSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2 });
  const images = tf.tensor4d(Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => rng.uniform()), [2, 32, 32, 3]);
  const cls = vit.forward(images);
  const clsShape = cls.shape;
  const clsFinite = Array.from(await cls.data()).every(Number.isFinite);
  const { perHead, mean } = attentionMaps(vit, images);
  const headMass = Array.from(await tf.sum(tf.slice(perHead, [0, 0, 0, 0], [1, 1, 4, 4])).data())[0];
  const mask = await attentionMask(tf.slice(mean, [0, 0, 0], [1, 4, 4]));
  const maskCount = Array.from(await mask.data()).reduce((a, b) => a + b, 0);
  tf.dispose([images, cls, perHead, mean, mask]);
  vit.dispose();

  // Property 2's: a weighted k-NN vote on two well separated clusters.
  const feats = (n: number, label: number) => Array.from({ length: n * 8 }, (_, i) => (i % 8 === label ? 4 : 0) + rng.normal() * 0.1);
  const train = tf.tensor2d([...feats(10, 0), ...feats(10, 1)], [20, 8]);
  const test = tf.tensor2d([...feats(5, 0), ...feats(5, 1)], [10, 8]);
  const labels = (n: number) => [...new Array(n).fill(0), ...new Array(n).fill(1)];
  const knn = await knnClassifier(train, labels(10), test, labels(5), { k: [5] });
  tf.dispose([train, test]);

  // Two DINO steps on the embedded shapes, with multi-crop.
  const head = new DinoHead({ inDim: 32, outDim: 64, hiddenDim: 48, bottleneckDim: 16 });
  const headOk = tf.tidy(() => head.apply(tf.zeros([2, 32]) as tf.Tensor2D).shape[1] === 64);
  head.dispose();
  const data = new ShapesDataset({ length: 16, size: 32 });
  const loader = new DataLoader(data, { batchSize: 8, dropLast: true });
  // One multi-crop spec for the augmentation and the trainer.
  const multicrop = { localCropsNumber: 2 };
  const aug = createDinoAugmentation(dinoAugmentConfigForImageSize(32, multicrop));
  const trainer = new DinoTrainer({
    backbone: { arch: 'vit', options: { imgSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2 } },
    head: { outDim: 64, hiddenDim: 48, bottleneckDim: 16 },
    multicrop,
    optim: { warmupEpochs: 0 },
    epochs: 1, itersPerEpoch: loader.batchesPerEpoch, batchSize: 8,
  });
  const losses: number[] = [];
  let it = 0;
  for await (const batch of loader.iterate({ endEpoch: 1 })) {
    const x = toTensor(batch);
    const crops = aug.apply(x, new Rng(it));
    const m = await trainer.step(crops, it++);
    tf.dispose([x, ...crops]);
    losses.push(m.loss);
  }
  trainer.dispose();
  return {
    backend: tf.getBackend(),
    kernels: info?.kernels.length ?? 0,
    relaxedSimd: info?.relaxedSimd ?? false,
    threads: info?.threads ?? 0,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    sameBits,
    clsShape,
    clsFinite,
    headMass,
    maskCount,
    headOk,
    knnTop1: knn.results[0].top1,
    losses,
    tensorsLeft: tf.memory().numTensors,
  };
}

main().then(
  (r) => (window.__dino = r),
  (e: Error) => (window.__dino = { error: `${e.message}\n${e.stack ?? ''}` }),
);
