/**
 * Opens the train and held-out splits named by the config, and the per-channel statistics the
 * augmentation normalises with.
 */
import * as data from '@dino-ts/data';
import type { Dataset } from '@dino-ts/data';
// The file loaders (node:fs, sharp) live in the Node-only entry of @dino-ts/data.
import { loadCifar10, loadCifar100, loadFashionMnist, loadImageFolder } from '@dino-ts/data/node';
import type { TrainConfig } from './config';

export interface OpenedData {
  train: Dataset;
  /** Held-out split for the k-NN monitor and the final report (labels; masks where known). */
  test: Dataset;
  channels: number;
  imageSize: number;
  /** Per-channel mean and std of the training images in [0, 1]. */
  mean: number[];
  std: number[];
  /** True when items carry object masks (attention Jaccard). */
  hasMasks: boolean;
}

/** At most `n` items of `d`: a seeded random subset, not the first n (files on disk are often sorted by class). */
export function limit(d: Dataset, n: number | undefined, seed: number): Dataset {
  if (!n || n >= d.length) return d;
  return data.subset(d, data.randomIndices(d.length, n, seed));
}

/** The first `n` items of `d` (held-out splits are already random). */
export function firstItems(d: Dataset, n: number): Dataset {
  return n >= d.length ? d : data.subset(d, Array.from({ length: n }, (_, i) => i));
}

export async function openDatasets(c: TrainConfig): Promise<OpenedData> {
  let train: Dataset, test: Dataset, hasMasks = false;
  switch (c.dataset) {
    case 'shapes': {
      const size = c.imageSize;
      // Train and held-out images come from different seeds: no image is in both.
      const look = {
        classes: data.SHAPE_CLASS_NAMES.slice(0, c.shapesClasses),
        clutter: c.shapesClutter,
        maxRotation: c.shapesRotation,
        placement: c.shapesPlacement,
        palette: c.shapesPalette,
        ...(c.shapesTextures === 'all' ? {} : { textures: c.shapesTextures.split(',').map((t) => t.trim()) as data.TextureKind[] }),
      };
      train = new data.ShapesDataset({ length: c.trainSize ?? 10000, size, seed: c.seed * 2 + 1, ...look });
      test = new data.ShapesDataset({ length: c.testSize ?? 1000, size, seed: c.seed * 2 + 2, ...look });
      hasMasks = true;
      break;
    }
    case 'fashion-mnist': {
      const dir = c.data;
      train = limit(await loadFashionMnist({ dir, split: 'train' }), c.trainSize, c.seed);
      test = limit(await loadFashionMnist({ dir, split: 'test' }), c.testSize, c.seed + 1);
      break;
    }
    case 'cifar10':
    case 'cifar100': {
      if (!c.data) throw new Error(`--dataset ${c.dataset} needs --data DIR: the folder of the CIFAR binary version (data_batch_1.bin ... / train.bin).`);
      const load = c.dataset === 'cifar10' ? loadCifar10 : loadCifar100;
      train = limit(await load({ dir: c.data, split: 'train' }), c.trainSize, c.seed);
      test = limit(await load({ dir: c.data, split: 'test' }), c.testSize, c.seed + 1);
      break;
    }
    case 'folder': {
      if (!c.data) throw new Error('--dataset folder needs --data DIR: a folder of images (one sub-folder per class, or flat).');
      const all = await loadImageFolder({ dir: c.data, size: c.imageSize });
      const [a, b] = data.splitDataset(all, Math.max(1, Math.round(all.length * 0.1)), c.seed);
      train = limit(a, c.trainSize, c.seed);
      test = limit(b, c.testSize, c.seed + 1);
      break;
    }
  }
  if (train.height !== train.width) {
    throw new Error(`${train.name}: images are ${train.height}x${train.width}; the trainer needs square images (set --image-size for folders).`);
  }
  // Statistics over a seeded random sample: files on disk are often sorted by class.
  const sample = limit(train, 2048, c.seed + 3);
  const { mean, std } = await data.channelStats(sample);
  return { train, test, channels: train.channels, imageSize: train.height, mean, std, hasMasks };
}
