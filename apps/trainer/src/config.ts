/**
 * The trainer's configuration: every hyperparameter of the reference (main_dino.py) with its
 * default, written once here. The CLI flags, the config-file loader, the presets and the
 * checkpoint's saved config are all derived from this one schema.
 */
import { z } from 'zod';
import { readFileSync, existsSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';

const pair = z.tuple([z.number(), z.number()]);

/** One entry per setting: the schema (with default) and the help text. */
export const SETTINGS = {
  // --- model (reference: --arch, --patch_size, --out_dim, --norm_last_layer, --use_bn_in_head, --drop_path_rate)
  arch: [z.string().default('vit_small'), "backbone: vit_tiny | vit_small | vit_base | vit (free sizes below) | resnet18 | resnet34 | any registered name"],
  patchSize: [z.number().int().min(1).default(16), 'ViT patch size in pixels'],
  embedDim: [z.number().int().min(1).default(192), "width of the 'vit' backbone"],
  depth: [z.number().int().min(1).default(6), "number of blocks of the 'vit' backbone"],
  numHeads: [z.number().int().min(1).default(3), "attention heads of the 'vit' backbone"],
  dropPathRate: [z.number().min(0).max(0.99).default(0.1), 'stochastic depth rate of the student'],
  resnetWidth: [z.number().int().min(1).default(64), 'channels of the first stage of a resnet18 / resnet34 backbone (torchvision: 64)'],
  outDim: [z.number().int().min(1).default(65536), 'K, the dimension of the DINO head output'],
  hiddenDim: [z.number().int().min(1).default(2048), 'hidden width of the head MLP'],
  bottleneckDim: [z.number().int().min(1).default(256), 'bottleneck width of the head before the last layer'],
  normLastLayer: [z.boolean().default(true), 'weight-normalise the last layer with its gain fixed to 1'],
  useBnInHead: [z.boolean().default(false), 'BatchNorm in the head MLP'],
  // --- teacher (reference: --momentum_teacher, --warmup_teacher_temp, --teacher_temp, --warmup_teacher_temp_epochs)
  momentumTeacher: [z.number().min(0).max(1).default(0.996), 'base EMA momentum of the teacher, raised to 1 with a cosine schedule'],
  warmupTeacherTemp: [z.number().positive().default(0.04), 'initial teacher temperature'],
  teacherTemp: [z.number().positive().default(0.04), 'final teacher temperature (paper: 0.07 after warm-up)'],
  warmupTeacherTempEpochs: [z.number().int().min(0).default(0), 'epochs of linear teacher-temperature warm-up'],
  studentTemp: [z.number().positive().default(0.1), 'student temperature'],
  centerMomentum: [z.number().min(0).max(1).default(0.9), 'momentum of the center of the teacher output'],
  // --- optimisation (reference: --weight_decay, --weight_decay_end, --clip_grad, --batch_size_per_gpu, --epochs, --freeze_last_layer, --lr, --warmup_epochs, --min_lr)
  weightDecay: [z.number().min(0).default(0.04), 'initial weight decay (cosine schedule)'],
  weightDecayEnd: [z.number().min(0).default(0.4), 'final weight decay'],
  clipGrad: [z.number().min(0).default(3.0), 'per-parameter gradient norm clip (0 disables)'],
  batchSize: [z.number().int().min(1).default(64), 'images per iteration'],
  epochs: [z.number().int().min(1).default(100), 'number of epochs'],
  freezeLastLayer: [z.number().int().min(0).default(1), 'epochs during which the head’s last layer is frozen'],
  lr: [z.number().positive().default(0.0005), 'peak learning rate at batch 256 (scaled linearly with the batch size)'],
  warmupEpochs: [z.number().int().min(0).default(10), 'epochs of linear learning-rate warm-up'],
  minLr: [z.number().min(0).default(1e-6), 'final learning rate of the cosine schedule'],
  // --- multi-crop (reference: --global_crops_scale, --local_crops_number, --local_crops_scale)
  globalCropsScale: [pair.default([0.4, 1]), 'area range of the global crops'],
  localCropsNumber: [z.number().int().min(0).default(8), 'number of local crops'],
  localCropsScale: [pair.default([0.05, 0.4]), 'area range of the local crops'],
  globalCropsSize: [z.number().int().min(1).optional(), 'global crop size in pixels (default: the image size)'],
  localCropsSize: [z.number().int().min(1).optional(), 'local crop size in pixels (default: 96/224 of the image size)'],
  // --- photometric augmentation (reference DataAugmentationDINO)
  jitterBrightness: [z.number().min(0).default(0.4), 'colour jitter: brightness strength'],
  jitterContrast: [z.number().min(0).default(0.4), 'colour jitter: contrast strength'],
  jitterSaturation: [z.number().min(0).default(0.2), 'colour jitter: saturation strength'],
  jitterHue: [z.number().min(0).max(0.5).default(0.1), 'colour jitter: hue shift range (±)'],
  jitterP: [z.number().min(0).max(1).default(0.8), 'probability of the colour jitter'],
  grayscaleP: [z.number().min(0).max(1).default(0.2), 'probability of grayscale'],
  // --- data
  dataset: [z.enum(['shapes', 'fashion-mnist', 'cifar10', 'cifar100', 'folder']).default('shapes'), 'data set'],
  data: [z.string().optional(), 'data directory (fashion-mnist, cifar, folder)'],
  imageSize: [z.number().int().min(4).default(224), 'image size for generated or resized data sets'],
  shapesClasses: [z.number().int().min(2).max(10).default(10), 'shapes: number of object classes (the first N of circle, square, triangle, star, cross, ring, heart, crescent, arrow, hexagon)'],
  shapesClutter: [z.number().min(0).max(1).default(1), 'shapes: background clutter, 0 (plain gradient) to 1 (noise, blobs, lines, patterns)'],
  shapesTextures: [z.string().default('all'), "shapes: object fills, 'all' or a comma list of solid, stripes, dots, gradient, checker"],
  shapesRotation: [z.number().min(0).max(180).default(180), 'shapes: largest object rotation either way, degrees (180: any orientation)'],
  shapesPalette: [z.enum(['colour', 'mono']).default('colour'), "shapes: 'colour' (random colours) or 'mono' (a light object on a dark background)"],
  shapesPlacement: [z.number().min(0).max(1).default(1), 'shapes: how far objects stray from the centre (1: anywhere they fit, 0: centred)'],
  trainSize: [z.number().int().min(1).optional(), 'use only this many training images'],
  testSize: [z.number().int().min(1).optional(), 'use only this many held-out images for evaluation'],
  // --- run
  seed: [z.number().int().min(0).default(0), 'random seed (weights, crops, order)'],
  backend: [z.enum(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'), 'compute backend'],
  out: [z.string().default('runs/dino'), 'output directory (checkpoint, metrics, report)'],
  saveEvery: [z.number().int().min(0).default(50), 'checkpoint every N iterations (0: only at epoch ends)'],
  evalEvery: [z.number().int().min(0).default(1), 'k-NN on the held-out split every N epochs (0: never)'],
  knnK: [z.number().int().min(1).default(20), 'k of the k-NN monitor'],
  knnT: [z.number().positive().default(0.07), 'temperature of the k-NN vote'],
  maxIterations: [z.number().int().min(1).optional(), 'stop after this many iterations (for smoke runs)'],
  timeLimit: [z.number().positive().optional(), 'stop cleanly after this many minutes (checkpoint kept; resume later)'],
  report: [z.boolean().default(true), 'write report.html and the PNGs at the end'],
} as const;

type Settings = typeof SETTINGS;
export const TrainConfigSchema = z
  .object(Object.fromEntries(Object.entries(SETTINGS).map(([k, [s]]) => [k, s])) as { [K in keyof Settings]: Settings[K][0] })
  .strict();
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/**
 * Presets: each sets only what differs from the reference defaults, with the reason.
 */
export const PRESETS: Record<string, { description: string; values: Partial<TrainConfig> }> = {
  shapes: {
    description: 'the embedded procedural shapes data set (default): a small ViT trained in about 10 minutes on a 2-core CPU',
    values: {
      // 6 shape classes, solid or shaded fills, half clutter, any size, position and rotation. Mono
      // (a light object on a dark background): with random colours, colour is what survives the
      // crops best, so the first thousand steps learn colour, not shape (measured: k-NN flat at
      // chance over 1,536 iterations; the reference's own loop behaves the same).
      dataset: 'shapes', imageSize: 32, trainSize: 4096, testSize: 1024,
      shapesClasses: 6, shapesClutter: 0.5, shapesTextures: 'solid,gradient', shapesPalette: 'mono',
      // A small ViT: 8x8 patches of 4 px (an 8x8 attention map), narrow enough for a CPU.
      arch: 'vit', patchSize: 4, embedDim: 64, depth: 4, numHeads: 4, dropPathRate: 0,
      // Few prototypes and a small MLP: a few classes need no 65536-way head. BatchNorm in the head
      // (the reference's --use_bn_in_head): at batch 32 without it the teacher drifts to uniform
      // outputs (loss at ln K) and the k-NN falls (31.5% -> 29.4%); with it, 31.5% -> 48.5%.
      outDim: 256, hiddenDim: 256, bottleneckDim: 64, useBnInHead: true,
      // 2 global crops of 32 px + 4 local crops of 16 px.
      localCropsNumber: 4,
      // Short run: 3 epochs of 128 iterations, batch 32, one warm-up epoch, and a base lr of
      // 0.004 per 256 images (0.0005 at batch 32); teacher momentum 0.99 so the teacher follows
      // within a few hundred steps.
      batchSize: 32, epochs: 3, warmupEpochs: 1, lr: 0.004, momentumTeacher: 0.99,
      teacherTemp: 0.04, warmupTeacherTempEpochs: 0, saveEvery: 32,
    },
  },
  smoke: {
    description: 'a run under a minute that exercises every part (shapes, tiny model)',
    values: {
      dataset: 'shapes', imageSize: 16, trainSize: 128, testSize: 64,
      arch: 'vit', patchSize: 4, embedDim: 32, depth: 2, numHeads: 2, dropPathRate: 0,
      outDim: 128, hiddenDim: 64, bottleneckDim: 32, localCropsNumber: 2, batchSize: 32,
      epochs: 2, warmupEpochs: 1, lr: 0.002, saveEvery: 2,
    },
  },
  'fashion-mnist': {
    description: 'Fashion-MNIST 28x28 grey (Debian dataset-fashion-mnist): a small ViT sized for about 2 hours on a 2-core CPU',
    values: {
      dataset: 'fashion-mnist', imageSize: 28, testSize: 10000,
      // A narrow, shallow ViT on 4 px patches (a 7x7 grid at 28 px): about 65 img/s on one wasm
      // thread, so 2 hours see 8 epochs. DINO needs many steps before its features overtake
      // random ones; measured on this data, the 192-wide 6-block benchmark ViT (5.6 img/s) sees
      // under one epoch in the same time.
      arch: 'vit', patchSize: 4, embedDim: 64, depth: 2, numHeads: 2, dropPathRate: 0.1,
      // 10 classes of small grey images: K 1024 prototypes are plenty, and a head of 512/128 costs
      // a fraction of the reference's 2048/256 (which alone halves the step rate here).
      outDim: 1024, hiddenDim: 512, bottleneckDim: 128,
      // Global crops at full size, 4 local crops of 12 px (a 3x3 grid): 96/224 of 28, rounded up to
      // the patch size.
      globalCropsSize: 28, localCropsSize: 12, localCropsNumber: 4,
      // 8 epochs of 937 steps at batch 64, a base lr of 0.001 per 256 images (twice the
      // reference's: short runs need faster learning), one warm-up epoch.
      batchSize: 64, epochs: 8, warmupEpochs: 1, lr: 0.001,
      // A constant teacher temperature of 0.04 (no warm-up to a flatter teacher: with K 1024 a
      // 0.06 teacher drifted toward uniform outputs) and a faster teacher (0.99) for a run of
      // thousands, not hundreds of thousands, of steps.
      teacherTemp: 0.04, warmupTeacherTempEpochs: 0, momentumTeacher: 0.99,
      saveEvery: 200,
    },
  },
  cifar10: {
    description: 'CIFAR-10 32x32 colour (binary version, --data DIR)',
    values: {
      dataset: 'cifar10', imageSize: 32, arch: 'vit', patchSize: 4, embedDim: 192, depth: 6, numHeads: 3,
      outDim: 4096, globalCropsSize: 32, localCropsSize: 16, localCropsNumber: 6, batchSize: 64, epochs: 100,
    },
  },
  reference: {
    description: 'the reference defaults of main_dino.py (ViT-S/16, 224 px, K 65536, 100 epochs) on an image folder (--data DIR)',
    values: { dataset: 'folder' },
  },
  folder: {
    description: 'an image folder (--data DIR, one sub-folder per class or flat), resized to --image-size',
    values: { dataset: 'folder', imageSize: 64, arch: 'vit', patchSize: 8, embedDim: 192, depth: 6, numHeads: 3, outDim: 4096, localCropsNumber: 6 },
  },
};

/** Training images kept as the k-NN memory bank / linear-probe training set by default (`--bank`). */
export const EVAL_BANK = 10000;

/** Applied when no --preset is given. */
export const DEFAULT_PRESET = 'shapes';

export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/** Reads a JSON or YAML config file (keys as the flags in camelCase or kebab-case). */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigFileError(`Config file ${path} does not exist.`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigFileError(`Config file ${path} cannot be read: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new ConfigFileError(`Config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigFileError(`Config file ${path} must hold a mapping of settings, e.g. "epochs: 10".`);
  }
  return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [camel(k), v]));
}

export function camel(k: string): string {
  return k.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function kebab(k: string): string {
  return k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * Merges, lowest priority first: reference defaults, preset, config file, command-line flags;
 * validates the result and reports every problem with the flag name.
 */
export function resolveConfig(layers: Record<string, unknown>[]): TrainConfig {
  const merged: Record<string, unknown> = {};
  for (const l of layers) for (const [k, v] of Object.entries(l)) if (v !== undefined) merged[k] = v;
  const r = TrainConfigSchema.safeParse(merged);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      if (i.code === 'unrecognized_keys') return `unknown setting(s): ${i.keys.map((k) => `--${kebab(k)}`).join(', ')}`;
      return `--${kebab(key)} = ${JSON.stringify(merged[key])}: ${i.message}`;
    });
    throw new ConfigFileError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return r.data;
}
