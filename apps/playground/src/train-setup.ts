/**
 * A DINO run on the embedded shapes as the page trains it: the `dino train --preset shapes`
 * method (BatchNorm head, teacher temperature 0.04, teacher momentum 0.99, base lr 0.004 per 256
 * images, multi-crop) at the size the page asks for. No worker state, so the Node benchmark times
 * the same step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { createDinoAugmentation, dinoAugmentConfigForImageSize, type MultiCropAugmentation } from '@dino-ts/augment';
import { DinoTrainer } from '@dino-ts/dino';
import { DataLoader, channelStats, randomSubset, toTensor, type LoaderBatch, type ShapesDataset } from '@dino-ts/data';
import type { TrainArgs } from './protocol';
import { shapesDataset } from './shapes';

/** Most iterations in one epoch of the schedules (a 2048-image epoch at batch 32). */
export const MAX_ITERS_PER_EPOCH = 64;

export interface TrainingSetup {
  trainer: DinoTrainer;
  augmentation: MultiCropAugmentation;
  loader: DataLoader;
  data: ShapesDataset;
  epochs: number;
  itersPerEpoch: number;
  /** Per-channel statistics of the training images the inputs are normalised with. */
  mean: number[];
  std: number[];
}

/** The ViT options of a run, as a dino-ts run's config names them (readers infer heads from it). */
export function vitOptions(a: TrainArgs) {
  return { imgSize: a.imgSize, patchSize: a.patchSize, inChans: 3, embedDim: a.embedDim, depth: a.depth, numHeads: a.numHeads };
}

export async function setupTraining(args: TrainArgs): Promise<TrainingSetup> {
  const itersPerEpoch = Math.min(args.steps, MAX_ITERS_PER_EPOCH);
  const epochs = Math.ceil(args.steps / itersPerEpoch);
  // One epoch of the loader is one epoch of the schedules.
  const data = shapesDataset(args.shapes, args.imgSize, 'train', itersPerEpoch * args.batchSize);
  const { mean, std } = await channelStats(randomSubset(data, Math.min(512, data.length), args.seed + 3));
  const multicrop = { localCropsNumber: args.localCrops };
  const augmentation = createDinoAugmentation(dinoAugmentConfigForImageSize(args.imgSize, { ...multicrop, patchSize: args.patchSize, mean, std }));
  const trainer = new DinoTrainer({
    backbone: { arch: 'vit', options: vitOptions(args), dropPathRate: 0 },
    // The shapes preset's head: few prototypes and BatchNorm (without it a batch of 32 drifts to
    // uniform teacher outputs).
    head: { outDim: args.outDim, hiddenDim: args.outDim, bottleneckDim: 64, useBn: true },
    loss: { teacherTemp: 0.04, warmupTeacherTemp: 0.04, warmupTeacherTempEpochs: 0 },
    optim: { lr: args.lr, warmupEpochs: epochs > 1 ? 1 : 0, freezeLastLayer: epochs > 1 ? 1 : 0, momentumTeacher: 0.99 },
    multicrop,
    epochs,
    itersPerEpoch,
    batchSize: args.batchSize,
    seed: args.seed,
  });
  const loader = new DataLoader(data, { batchSize: args.batchSize, dropLast: true, seed: args.seed });
  return { trainer, augmentation, loader, data, epochs, itersPerEpoch, mean, std };
}

/** The multi-crop views of step `step`: the crops' randomness is a pure function of (seed, step). */
export function stepCrops(setup: TrainingSetup, batch: LoaderBatch, seed: number, step: number): tf.Tensor4D[] {
  const rng = new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77)) >>> 0);
  return tf.tidy(() => setup.augmentation.apply(toTensor(batch), rng));
}
