/**
 * The app's side of the data: the config's data settings as a `@dino-ts/data` description,
 * opened (train and held-out splits) by the data package's `openDatasetSplits`, and the
 * per-channel statistics the augmentation normalises with.
 */
import { DataError, channelStats, randomSubset, subset, SHAPE_CLASS_NAMES, type Dataset, type TextureKind } from '@dino-ts/data';
// The file loaders (node:fs, sharp) live in the Node-only entry of @dino-ts/data.
import { openDatasetSplits, FASHION_MNIST_DIR, type SplitsSpec } from '@dino-ts/data/node';
import { statSync } from 'node:fs';
import { ConfigFileError, type TrainConfig } from './config';

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
export const limit: (d: Dataset, n: number | undefined, seed: number) => Dataset = randomSubset;

/** The first `n` items of `d` (held-out splits are already random). */
export function firstItems(d: Dataset, n: number): Dataset {
  return n >= d.length ? d : subset(d, Array.from({ length: n }, (_, i) => i));
}

/**
 * The configured data set as the data package describes it. Settings a kind cannot do without
 * are asked for here, in the CLI's words, as a settings error (a user's mistake: exit code 2).
 */
function datasetSpec(c: TrainConfig): SplitsSpec {
  switch (c.dataset) {
    case 'shapes':
      return {
        kind: 'shapes',
        size: c.imageSize,
        classes: SHAPE_CLASS_NAMES.slice(0, c.shapesClasses),
        clutter: c.shapesClutter,
        maxRotation: c.shapesRotation,
        placement: c.shapesPlacement,
        palette: c.shapesPalette,
        ...(c.shapesTextures === 'all' ? {} : { textures: c.shapesTextures.split(',').map((t) => t.trim()) as TextureKind[] }),
      };
    case 'fashion-mnist':
      return { kind: 'fashion-mnist', dir: c.data };
    case 'cifar10':
    case 'cifar100':
      if (!c.data) throw new ConfigFileError(`--dataset ${c.dataset} needs --data DIR: the folder of the CIFAR binary version (data_batch_1.bin ... / train.bin).`);
      return { kind: c.dataset, dir: c.data };
    case 'folder':
      if (!c.data) throw new ConfigFileError('--dataset folder needs --data DIR: a folder of images (one sub-folder per class, or flat).');
      return { kind: 'folder', root: c.data, size: c.imageSize };
  }
}

/**
 * The checks on the data's location that cost nothing (the settings a kind needs, its folder
 * existing), in the command's words: made before anything else is decided about a run, so a
 * mistyped --data is reported as such even where another problem would also stop the run.
 */
export function checkDataSource(c: TrainConfig): void {
  const spec = datasetSpec(c);
  const folder = (dir: string, what: string, how: string) => {
    let ok = false;
    try {
      ok = statSync(dir).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new DataError(`${what} folder ${dir} does not exist or is not a folder: ${how}`, dir);
  };
  if (spec.kind === 'fashion-mnist') {
    folder(spec.dir ?? FASHION_MNIST_DIR, 'Fashion-MNIST', '`apt-get install dataset-fashion-mnist` fills the default one, or pass --data DIR naming a folder with the IDX files');
  } else if (spec.kind === 'cifar10' || spec.kind === 'cifar100') {
    folder(spec.dir, spec.kind === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100', 'pass --data DIR naming the extracted binary version');
  } else if (spec.kind === 'folder') {
    folder(spec.root, 'image', 'pass --data DIR naming a folder of images (one sub-folder per class, or flat)');
  }
}

export async function openDatasets(c: TrainConfig): Promise<OpenedData> {
  const { train, test, hasMasks } = await openDatasetSplits(datasetSpec(c), { trainSize: c.trainSize, testSize: c.testSize, seed: c.seed });
  if (train.height !== train.width) {
    throw new DataError(`${train.name}: images are ${train.height}x${train.width}; the trainer needs square images (set --image-size for folders).`);
  }
  // Statistics over a seeded random sample: files on disk are often sorted by class.
  const sample = limit(train, 2048, c.seed + 3);
  const { mean, std } = await channelStats(sample);
  return { train, test, channels: train.channels, imageSize: train.height, mean, std, hasMasks };
}
