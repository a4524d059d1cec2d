/**
 * Worker-thread entry: runs the DINO multi-crop augmentation on its own WebAssembly backend, so
 * on a CPU it overlaps the training step of the main thread (tfjs-wasm is single-threaded in
 * Node, and the augmentation is about an eighth of a step of the shapes preset). The crops are the
 * same bytes as in the main thread: same backend, same kernels, same per-iteration generator.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './backend';
import { augmentation, makeCrops } from './augmentation';
import type { AugmentRequest, AugmentReply, AugmentWorkerInit } from './background-augment';

const init = workerData as AugmentWorkerInit;
const port = parentPort!;
const ready = selectBackend('wasm').then(() => augmentation(init.config, init.data));

port.on('message', async (req: AugmentRequest) => {
  const aug = await ready;
  try {
    const crops = makeCrops(aug, init.config.seed, req.images, req.shape, req.iteration);
    const out = crops.map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape as [number, number, number, number] }));
    tf.dispose(crops);
    const reply: AugmentReply = { iteration: req.iteration, crops: out };
    port.postMessage(reply, out.map((c) => c.data.buffer as ArrayBuffer));
  } catch (e) {
    port.postMessage({ iteration: req.iteration, error: (e as Error).stack ?? String(e) } satisfies AugmentReply);
  }
});
