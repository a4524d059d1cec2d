/**
 * What the page and its two workers say to each other. Everything heavy (tfjs, the models, the
 * data) lives in the workers; the page only draws what they send. Pictures travel as RGBA
 * `ImageData`-shaped objects whose buffers are transferred, not copied.
 */
import type { RgbaImage } from '@dino-ts/eval';

/** Which tfjs-wasm build and kernels a worker runs. */
export type EngineKind = 'dino' | 'stock';

/** What the browser's WebAssembly can do, detected in the worker. */
export interface Capabilities {
  wasm: boolean;
  simd: boolean;
  relaxedSimd: boolean;
  /** SharedArrayBuffer + atomics: WebAssembly threads (needs cross-origin isolation). */
  threads: boolean;
  crossOriginIsolated: boolean;
  cores: number;
}

/** The compute backend a worker ended up with, and why. */
export interface BackendReport {
  /** tfjs backend name: 'wasm' (or 'cpu' where WebAssembly is missing). */
  backend: string;
  engine: EngineKind;
  /** The tfjs-backend-wasm binary loaded. */
  binary: 'simd' | 'threaded-simd' | 'plain' | 'none';
  /** dino-ts kernels registered over the stock ones (0: stock kernels only). */
  kernels: number;
  /** Matrix products run the relaxed-SIMD (fused multiply-add) build. */
  relaxedSimdGemm: boolean;
  threads: number;
  capabilities: Capabilities;
  /** One sentence per missing feature and the fallback taken. */
  notes: string[];
  initMs: number;
}

export interface InitArgs {
  engine: EngineKind;
  /** Absolute URL of the folder holding tfjs-backend-wasm's .wasm files. */
  wasmUrl: string;
}

/** A ViT's architecture as read off a weights file. */
export interface ModelInfo {
  name: string;
  format: string;
  naming: string;
  /** Tensors stored in half precision (F16 / BF16), widened to float32 on load. */
  storedDtype: string;
  imgSize: number;
  patchSize: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  numHeadsFrom: string;
  mlpRatio: number;
  params: number;
  bytes: number;
  /** The normalisation the inputs get, and where it comes from. */
  mean: number[];
  std: number[];
  normalizationFrom: 'file' | 'imagenet';
  /** Shapes the model was trained on (the demo teacher says which); else the page's defaults. */
  shapes: ShapesSpec;
  notes: string[];
  ms: { read: number; build: number; total: number };
}

/** The embedded shapes' look and the seeds of the bank (training split) and held-out split. */
export interface ShapesSpec {
  classes: number;
  clutter: number;
  textures: string[] | null;
  maxRotation: number;
  placement: number;
  palette: 'mono' | 'colour';
  trainSeed: number;
  testSeed: number;
}

export type ModelSource = { kind: 'url'; url: string; name: string } | { kind: 'bytes'; bytes: ArrayBuffer; name: string };

export type ImageSource = { kind: 'shapes'; index: number } | { kind: 'file'; file: Blob; name: string };

export interface ImageInfo {
  name: string;
  /** The picture as the model sees it (after the evaluation transform), for display. */
  input: RgbaImage;
  /** The original picture's size. */
  originalSize: [number, number];
  label?: string;
  /** Object mask at the input size (shapes only). */
  mask?: RgbaImage;
  /** Shapes samples: the index in the held-out split and the RGB bytes drawn (before the transform). */
  shapesIndex?: number;
  pixels?: Uint8Array;
  ms: number;
}

export type NetworkKind = 'trained' | 'random';

export interface AnalyzeArgs {
  network: NetworkKind;
  threshold: number;
}

/** Property 1 for one picture and one network. */
export interface Analysis {
  network: NetworkKind;
  grid: [number, number];
  numHeads: number;
  /** Heat maps at pixel resolution: the head mean, then each head. */
  meanHeat: RgbaImage;
  headHeat: RgbaImage[];
  /** See-through mask layers (60% of the attention mass) to draw over `input`. */
  meanMask: RgbaImage;
  headMasks: RgbaImage[];
  /** Fraction of the patches each mask keeps. */
  meanMaskFraction: number;
  headMaskFractions: number[];
  /** Jaccard of each mask with the object's mask (shapes samples only). */
  jaccard?: { mean: number; perHead: number[] };
  /** The patch features' first three principal components as RGB, and their share of the variance. */
  pca: RgbaImage;
  pcaExplained: number[];
  /** The CLS feature (final norm), what k-NN compares. */
  cls: Float32Array;
  ms: { attention: number; pca: number; total: number };
}

export interface GalleryArgs {
  kind: 'shapes' | 'files';
  /** Shapes: how many images of the training split. */
  count?: number;
  files?: { file: Blob; name: string; label: string }[];
}

export interface GalleryInfo {
  kind: 'shapes' | 'files';
  size: number;
  classNames: string[];
  ms: number;
}

export interface Neighbour {
  index: number;
  label: string;
  similarity: number;
  thumbnail: RgbaImage;
}

export interface NeighboursResult {
  network: NetworkKind;
  k: number;
  neighbours: Neighbour[];
  /** The weighted k-NN vote (k, T = 0.07) and the image's own label when known. */
  vote: string;
  truth?: string;
  /** Gallery features: extracted for this query, or already there for this model and gallery. */
  featuresCached: boolean;
  ms: { features: number; search: number };
}

export interface KnnAccuracyArgs {
  bank: number;
  heldOut: number;
  k: number;
}

export interface KnnAccuracy {
  bank: number;
  heldOut: number;
  k: number;
  chance: number;
  trained: number;
  random: number;
  ms: { trained: number; random: number; total: number };
}

/** The inference worker's methods. */
export interface EngineApi {
  init(a: InitArgs): BackendReport;
  /** Loads a model; the current picture, if any, is prepared again for it. */
  loadModel(a: ModelSource): { model: ModelInfo; image: ImageInfo | null };
  setImage(a: ImageSource): ImageInfo;
  analyze(a: AnalyzeArgs): Analysis;
  setGallery(a: GalleryArgs): GalleryInfo;
  neighbours(a: { network: NetworkKind; k: number }): NeighboursResult;
  knnAccuracy(a: KnnAccuracyArgs): KnnAccuracy;
  stats(a: Record<string, never>): { numTensors: number; numBytes: number };
}

/** The training run's settings (the shapes preset's method at a size a page trains in minutes). */
export interface TrainArgs {
  embedDim: number;
  depth: number;
  numHeads: number;
  patchSize: number;
  imgSize: number;
  outDim: number;
  batchSize: number;
  localCrops: number;
  steps: number;
  /** Run the k-NN monitor every this many steps (0: never), on `monitorBank` / `monitorTest` images. */
  monitorEvery: number;
  monitorBank: number;
  monitorTest: number;
  lr: number;
  seed: number;
  shapes: ShapesSpec;
}

export interface StepEvent {
  step: number;
  loss: number;
  teacherEntropy: number;
  kl: number;
  lr: number;
  ms: number;
}

export interface MonitorEvent {
  step: number;
  top1: number;
  ms: number;
}

export interface TrainSummary {
  steps: number;
  stopped: boolean;
  ms: number;
}

export interface Checkpoint {
  /** The teacher backbone under the reference's names (what `dino embed --weights` and PyTorch load). */
  backbone: ArrayBuffer;
  /** The whole training state (student, teacher, optimizer, DINO center), as `dino train` writes it. */
  state: ArrayBuffer;
  step: number;
}

/** The training worker's methods; it streams `step` and `monitor` events while `train` runs. */
export interface TrainApi {
  init(a: InitArgs): BackendReport;
  train(a: TrainArgs): TrainSummary;
  stop(a: Record<string, never>): boolean;
  checkpoint(a: Record<string, never>): Checkpoint;
}

export interface TrainEvents {
  step: StepEvent;
  monitor: MonitorEvent;
}
