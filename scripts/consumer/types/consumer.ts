// Every package, main entries and /node subpaths, with values whose types must be real (an
// unresolved module or an `any` fails under strict).
import * as tf from "@tensorflow/tfjs-core";
import { Rng, decodeSafetensors, encodeSafetensors, ConfigError, type NamedArray } from "@dino-ts/core";
import { createDinoAugmentation, dinoAugmentConfigForImageSize } from "@dino-ts/augment";
import { createBackbone, listBackbones, VisionTransformer, type Backbone } from "@dino-ts/backbones";
import { DinoHead } from "@dino-ts/head";
import { DinoTrainer, type DinoTrainerConfig } from "@dino-ts/dino";
import { ShapesDataset, DataLoader, toTensor } from "@dino-ts/data";
import { readIdx, loadImageFolder } from "@dino-ts/data/node";
import { knnClassifier, attentionMaps } from "@dino-ts/eval";
import { encodePng } from "@dino-ts/eval/node";
import { registerWasmKernels, wasmKernelsInfo } from "@dino-ts/wasm-kernels";

export const rng: Rng = new Rng(0);
export const array: NamedArray = { dtype: "F32", shape: [1], data: new Float32Array(1) };
export const bytes: Uint8Array = encodeSafetensors({ a: array });
export const back: NamedArray = decodeSafetensors(bytes).tensors.a;
export const err: Error = new ConfigError("k", 0, "must be >= 1");
export const aug = createDinoAugmentation(dinoAugmentConfigForImageSize(32, { localCropsNumber: 2 }));
export const names: string[] = listBackbones();
export const vit: Backbone = createBackbone("vit", { imgSize: 16, patchSize: 4, embedDim: 8, depth: 1, numHeads: 2 });
export const isVit: boolean = vit instanceof VisionTransformer;
export const head = new DinoHead({ inDim: 8, outDim: 16 });
export const config: DinoTrainerConfig = { backbone: { arch: "vit_tiny" }, head: { outDim: 16 }, loss: { teacherTemp: 0.07 }, epochs: 1, itersPerEpoch: 1, batchSize: 2 };
export const makeTrainer = (): DinoTrainer => new DinoTrainer(config);
export const loader = new DataLoader(new ShapesDataset({ length: 8, size: 16 }), { batchSize: 4 });
export const toImages: (b: Parameters<typeof toTensor>[0]) => tf.Tensor4D = toTensor;
export const idx: typeof readIdx = readIdx;
export const folder: typeof loadImageFolder = loadImageFolder;
export const png: typeof encodePng = encodePng;
export const knn: Promise<{ results: { top1: number }[] }> = knnClassifier(tf.zeros([2, 4]) as tf.Tensor2D, [0, 1], tf.zeros([1, 4]) as tf.Tensor2D, [0]);
export const attention: typeof attentionMaps = attentionMaps;
export const kernels: Promise<unknown> = registerWasmKernels();
export const info: ReturnType<typeof wasmKernelsInfo> = wasmKernelsInfo();
