/**
 * Where the crops of each batch are made. On the wasm backend a worker thread makes the crops of
 * the next batch while the main thread trains on the current one: tfjs-wasm uses one thread in
 * Node, so the augmentation (about an eighth of a step of the shapes preset) would otherwise hold
 * up the step while the second core idles. On any other backend, or when the worker's file is not
 * there (running from sources), the crops are made in the main thread. Either way the crops are
 * identical: the same backend and kernels, and each iteration's generator depends only on (seed,
 * iteration).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config';
import { augmentation, makeCrops, type AugmentationData } from './augmentation';

type Shape4 = [number, number, number, number];

export interface AugmentWorkerInit {
  config: TrainConfig;
  data: AugmentationData;
}
export interface AugmentRequest {
  iteration: number;
  images: Float32Array;
  shape: Shape4;
}
export interface AugmentReply {
  iteration: number;
  crops?: { data: Float32Array; shape: Shape4 }[];
  error?: string;
}

export interface CropMaker {
  /** 'worker thread' or 'main thread'. */
  readonly where: string;
  /** The crops of a batch (NHWC in [0, 1]) for `iteration`; the caller disposes the tensors. */
  crops(images: Float32Array, shape: Shape4, iteration: number): Promise<tf.Tensor4D[]>;
  close(): Promise<void>;
}

/** Crops made in the calling thread, on its backend. */
function mainThreadCrops(c: TrainConfig, d: AugmentationData): CropMaker {
  const aug = augmentation(c, d);
  return {
    where: 'main thread',
    crops: async (images, shape, iteration) => makeCrops(aug, c.seed, images, shape, iteration),
    close: async () => {},
  };
}

/** Crops made by a worker thread on its own wasm backend, handed back as plain arrays. */
function workerCrops(file: string, c: TrainConfig, d: AugmentationData): CropMaker {
  // Only plain fields cross to the worker (the caller's data object also holds the data sets).
  const init: AugmentWorkerInit = { config: c, data: { imageSize: d.imageSize, channels: d.channels, mean: d.mean, std: d.std } };
  const worker = new Worker(file, { workerData: init });
  const waiting = new Map<number, { resolve: (t: tf.Tensor4D[]) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error) => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('message', (r: AugmentReply) => {
    const w = waiting.get(r.iteration);
    if (!w) return;
    waiting.delete(r.iteration);
    if (r.error || !r.crops) w.reject(new Error(`augmentation worker, iteration ${r.iteration}: ${r.error}`));
    else w.resolve(r.crops.map((k) => tf.tensor4d(k.data, k.shape)));
  });
  worker.on('error', (e) => failAll(new Error(`augmentation worker failed: ${e.message}`)));
  worker.on('exit', (code) => failAll(new Error(`augmentation worker exited (code ${code})`)));
  return {
    where: 'worker thread',
    crops: (images, shape, iteration) =>
      new Promise((resolve, reject) => {
        waiting.set(iteration, { resolve, reject });
        worker.postMessage({ iteration, images, shape } satisfies AugmentRequest);
      }),
    close: async () => {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

/**
 * The crop maker for a run on `backend`: a worker thread on wasm (unless DINO_AUGMENT_WORKER=0),
 * else the main thread.
 */
export function createCropMaker(c: TrainConfig, d: AugmentationData, backend: string): CropMaker {
  const file = fileURLToPath(new URL('./augment-worker.js', import.meta.url));
  if (backend === 'wasm' && process.env.DINO_AUGMENT_WORKER !== '0' && existsSync(file)) return workerCrops(file, c, d);
  return mainThreadCrops(c, d);
}
