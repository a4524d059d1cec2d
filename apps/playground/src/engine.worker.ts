/**
 * The inference worker: the model, the current picture and the gallery live here, with every
 * tensor; the page gets pictures (RGBA) and numbers. Property 1 (attention maps, masks, PCA of the
 * patch features) and property 2 (nearest neighbours, k-NN accuracy), for the loaded network and
 * for a randomly initialised one of the same architecture.
 */
import * as tf from '@tensorflow/tfjs-core';
import { IMAGENET_MEAN, IMAGENET_STD } from '@dino-ts/augment';
import { VisionTransformer } from '@dino-ts/backbones';
import { countParams } from '@dino-ts/core';
import { SHAPE_CLASS_NAMES, imagePixels } from '@dino-ts/data';
import {
  evalTransform,
  evaluateKnn,
  extractFeatures,
  fromIndexedDataset,
  knnClassifier,
  maskLayer,
  toImageData,
  toRgbImage,
  type FeatureMatrix,
  type ImageSource,
  type RgbaImage,
} from '@dino-ts/eval';
import { readWeights, loadVisionTransformer } from '@dino-ts/weights';
import { initBackend } from './backend';
import { analyzePicture } from './analysis';
import type { EngineApi, GalleryInfo, ImageInfo, ModelInfo, NetworkKind, ShapesSpec } from './protocol';
import { serve, type Handlers } from './rpc';
import { DEFAULT_SHAPES, shapesDataset, shapesFromMetadata } from './shapes';

/** The reference k-NN temperature (eval_knn.py). */
const KNN_T = 0.07;
/** Images per forward pass when extracting gallery features. */
const BATCH = 64;
/** Thumbnails of the user's pictures are at most this many pixels a side. */
const THUMB = 64;

/** A picture before the evaluation transform: RGB bytes, HWC. */
interface Picture {
  name: string;
  rgb: Uint8Array;
  width: number;
  height: number;
  /** A user's file: decoded again for a model of another size. */
  file?: Blob;
  /** The file's own size ([height, width]), when it was scaled down on decoding. */
  original?: [number, number];
  /** Shapes samples: their index in the held-out split, class and object mask (at `width`). */
  shapesIndex?: number;
  label?: number;
  mask?: Uint8Array;
}

interface Model {
  vit: VisionTransformer;
  info: ModelInfo;
  random: VisionTransformer | null;
}

interface Gallery {
  kind: 'shapes' | 'files';
  size: number;
  classNames: string[];
  labels: Int32Array;
  /** Shapes: the count of the training split's first images; files: the decoded pictures. */
  pictures?: Picture[];
  thumbnails?: RgbaImage[];
  features: Map<NetworkKind, FeatureMatrix>;
}

let model: Model | null = null;
let picture: Picture | null = null;
/** The current picture after the evaluation transform, [1, H, W, 3]. */
let input: tf.Tensor4D | null = null;
let gallery: Gallery | null = null;

const now = () => performance.now();

function requireModel(): Model {
  if (!model) throw new Error('no model is loaded');
  return model;
}

/** The loaded network, or a randomly initialised one of the same architecture (built once, seed 0). */
function network(kind: NetworkKind): VisionTransformer {
  const m = requireModel();
  if (kind === 'trained') return m.vit;
  m.random ??= new VisionTransformer({ ...m.vit.config, seed: 0 });
  return m.random;
}

function shapes(): ShapesSpec {
  return model?.info.shapes ?? DEFAULT_SHAPES;
}

/** The evaluation transform of `pic` for the current model (ImageNet statistics unless the file says). */
function transform(pic: Picture): tf.Tensor4D {
  const { info } = requireModel();
  return tf.tidy(() => {
    const x = evalTransform({ data: pic.rgb, width: pic.width, height: pic.height, channels: 3 }, { size: info.imgSize, mean: info.mean, std: info.std });
    return tf.expandDims(x, 0) as tf.Tensor4D;
  });
}

function shapesPicture(index: number, size: number): Picture {
  const ds = shapesDataset(shapes(), size, 'test', index + 1);
  const item = ds.getSync(index);
  return { name: `${ds.classNames[item.label!]} (held-out shapes #${index})`, rgb: item.image as Uint8Array, width: size, height: size, shapesIndex: index, label: item.label, mask: item.mask };
}

/**
 * Decodes a picture file. Large photos are scaled down first by the browser's decoder (with
 * antialiasing, as the reference's PIL resize has) to twice the short side the evaluation
 * transform resizes to, which bounds the cost of the transform whatever the photo's size.
 */
async function decodePicture(file: Blob, name: string, modelSize: number): Promise<Picture> {
  const probe = await createImageBitmap(file);
  const original: [number, number] = [probe.height, probe.width];
  const target = Math.round(2 * modelSize * (256 / 224));
  const short = Math.min(probe.width, probe.height);
  let bitmap = probe;
  if (short > target) {
    const f = target / short;
    bitmap = await createImageBitmap(file, { resizeWidth: Math.round(probe.width * f), resizeHeight: Math.round(probe.height * f), resizeQuality: 'high' });
    probe.close();
  }
  const rgb = imagePixels(bitmap, { channels: 3 });
  const picture: Picture = { name, rgb, width: bitmap.width, height: bitmap.height, file, original };
  bitmap.close();
  return picture;
}

/** What the model sees, for display: the transformed input with its normalisation undone. */
async function displayOf(x: tf.Tensor4D): Promise<RgbaImage> {
  const { info } = requireModel();
  const [, h, w, c] = x.shape;
  return toImageData(toRgbImage(await x.data(), h, w, c, { mean: info.mean, std: info.std }));
}

function thumbnailOf(pic: Picture): RgbaImage {
  // Nearest sampling to at most THUMB px a side: a preview, not an input.
  const f = Math.max(1, Math.max(pic.width, pic.height) / THUMB);
  const w = Math.max(1, Math.round(pic.width / f)), h = Math.max(1, Math.round(pic.height / f));
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.min(pic.height - 1, Math.floor(y * f)) * pic.width + Math.min(pic.width - 1, Math.floor(x * f))) * 3;
      data.set([pic.rgb[s], pic.rgb[s + 1], pic.rgb[s + 2], 255], (y * w + x) * 4);
    }
  }
  return { data, width: w, height: h };
}

async function setInput(pic: Picture): Promise<ImageInfo> {
  const started = now();
  const x = transform(pic);
  input?.dispose();
  input = x;
  picture = pic;
  const [, h, w] = x.shape;
  const info: ImageInfo = { name: pic.name, input: await displayOf(x), originalSize: pic.original ?? [pic.height, pic.width], ms: 0 };
  if (pic.label !== undefined) info.label = SHAPE_CLASS_NAMES[pic.label];
  if (pic.shapesIndex !== undefined) {
    info.shapesIndex = pic.shapesIndex;
    info.pixels = pic.rgb.slice();
  }
  if (pic.mask && pic.width === w && pic.height === h) info.mask = maskLayer(pic.mask, h, w, { color: [0, 1, 0.4], alpha: 0.3 });
  info.ms = now() - started;
  return info;
}

/** The gallery as an ImageSource for the current model (normalised like every input). */
function gallerySource(g: Gallery): ImageSource {
  const { info } = requireModel();
  if (g.kind === 'shapes') return fromIndexedDataset(shapesDataset(shapes(), info.imgSize, 'train', g.size), { mean: info.mean, std: info.std });
  const pics = g.pictures!;
  return {
    length: pics.length,
    getBatch: (start: number, end: number) => {
      const x = tf.tidy(() => tf.concat(pics.slice(start, end).map((p) => transform(p)), 0) as tf.Tensor4D);
      return { images: x, labels: g.labels.subarray(start, end) };
    },
  };
}

async function galleryFeatures(kind: NetworkKind, progress: (done: number, total: number, label?: string) => void): Promise<FeatureMatrix> {
  if (!gallery) throw new Error('no gallery');
  const cached = gallery.features.get(kind);
  if (cached) return cached;
  const f = await extractFeatures(network(kind), gallerySource(gallery), {
    batchSize: BATCH,
    onProgress: (done, total) => progress(done, total, `gallery features (${kind})`),
  });
  gallery.features.set(kind, f);
  return f;
}

const handlers: Handlers<EngineApi> = {
  init: (args) => initBackend(args),

  async loadModel(source, ctx) {
    const started = now();
    ctx.progress(0, 3, 'reading the file');
    let bytes: Uint8Array;
    if (source.kind === 'url') {
      const res = await fetch(source.url);
      if (!res.ok) throw new Error(`${source.url}: HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } else bytes = new Uint8Array(source.bytes);
    const file = readWeights(bytes, { source: source.name });
    if (!file.arch) throw new Error(`${source.name}: ${file.archError ?? 'not a Vision Transformer'}`);
    const read = now() - started;
    ctx.progress(1, 3, 'building the network');
    const vit = loadVisionTransformer(file, { source: source.name });
    const [imgH, imgW] = vit.config.imgSize;
    if (imgH !== imgW) {
      vit.dispose();
      throw new Error(`${source.name}: the page shows square inputs; this model takes ${imgH}x${imgW}`);
    }
    const num = (key: string): number[] | null => {
      try {
        const v = JSON.parse(String(file.metadata[key]));
        return Array.isArray(v) && v.length === 3 && v.every((n) => typeof n === 'number' && Number.isFinite(n)) ? v : null;
      } catch {
        return null;
      }
    };
    const mean = num('mean'), std = num('std');
    const fromFile = mean !== null && std !== null && std.every((s) => s > 0);
    const dtypes = new Set(Object.values(file.backbone).map((t) => t.sourceDtype ?? t.dtype));
    const notes: string[] = [];
    if (file.numHeadsFrom === 'default') notes.push(`heads: ${file.arch.numHeads} (width / 64, as the published models; the file does not say)`);
    if (!fromFile) notes.push('inputs normalised with ImageNet\'s mean and std (the file names none)');
    if (file.ignored.length) notes.push(`${file.ignored.length} tensors that are not the backbone were left out`);
    const info: ModelInfo = {
      name: source.name,
      format: file.format,
      naming: file.naming,
      storedDtype: [...dtypes].join('+'),
      imgSize: imgH,
      patchSize: vit.patchSize,
      embedDim: vit.embedDim,
      depth: vit.depth,
      numHeads: file.arch.numHeads,
      numHeadsFrom: file.numHeadsFrom ?? 'default',
      mlpRatio: file.arch.mlpRatio,
      params: countParams(vit.params()),
      bytes: bytes.length,
      mean: fromFile ? mean : [...IMAGENET_MEAN],
      std: fromFile ? std : [...IMAGENET_STD],
      normalizationFrom: fromFile ? 'file' : 'imagenet',
      shapes: shapesFromMetadata(file.metadata.shapes) ?? DEFAULT_SHAPES,
      notes,
      ms: { read, build: 0, total: 0 },
    };
    // Warm-up: the first pass compiles nothing on wasm, but allocates the backend's buffers.
    tf.tidy(() => vit.forward(tf.zeros([1, imgH, imgW, vit.inChans]) as tf.Tensor4D));
    if (model) {
      model.vit.dispose();
      model.random?.dispose();
    }
    model = { vit, info, random: null };
    info.ms.build = now() - started - read;
    // The picture and the gallery follow the model: its size (a user's pictures are decoded again
    // at the size this model's transform needs) and its normalisation.
    ctx.progress(2, 3, 'preparing the pictures');
    const again = (p: Picture) => (p.file ? decodePicture(p.file, p.name, imgH) : Promise.resolve(p));
    if (gallery) {
      gallery.features.clear();
      if (gallery.pictures) gallery.pictures = await Promise.all(gallery.pictures.map(again));
    }
    let image: ImageInfo | null = null;
    if (picture) image = await setInput(picture.shapesIndex !== undefined ? shapesPicture(picture.shapesIndex, imgH) : await again(picture));
    info.ms.total = now() - started;
    return { model: info, image };
  },

  async setImage(source) {
    const { info } = requireModel();
    let pic: Picture;
    if (source.kind === 'shapes') pic = shapesPicture(source.index, info.imgSize);
    else pic = await decodePicture(source.file, source.name, info.imgSize);
    return setInput(pic);
  },

  async analyze({ network: kind, threshold }, ctx) {
    if (!input || !picture) throw new Error('no picture');
    const [, h, w] = input.shape;
    const objectMask = picture.mask && picture.width === w && picture.height === h ? picture.mask : undefined;
    const a = await analyzePicture(network(kind), input, { threshold, objectMask, onHalfway: () => ctx.progress(1, 2, 'principal components') });
    const pictures = [a.meanHeat, ...a.headHeat, a.meanMask, ...a.headMasks, a.pca];
    ctx.transfer(...pictures.map((img) => img.data.buffer), a.cls.buffer);
    return { network: kind, ...a };
  },

  async setGallery(args, ctx) {
    const started = now();
    const { info } = requireModel();
    let next: Gallery;
    if (args.kind === 'shapes') {
      const size = args.count ?? 512;
      const ds = shapesDataset(shapes(), info.imgSize, 'train', size);
      const labels = new Int32Array(size);
      for (let i = 0; i < size; i++) labels[i] = ds.getSync(i).label!;
      next = { kind: 'shapes', size, classNames: [...ds.classNames], labels, features: new Map() };
    } else {
      const files = args.files ?? [];
      if (files.length < 2) throw new Error('a gallery needs at least two pictures');
      const pictures: Picture[] = [];
      for (const [i, f] of files.entries()) {
        ctx.progress(i, files.length, 'decoding pictures');
        pictures.push(await decodePicture(f.file, f.name, info.imgSize));
      }
      const classNames = [...new Set(files.map((f) => f.label))].sort();
      const labels = Int32Array.from(files, (f) => classNames.indexOf(f.label));
      next = { kind: 'files', size: pictures.length, classNames, labels, pictures, thumbnails: pictures.map(thumbnailOf), features: new Map() };
      for (const p of pictures) p.label = undefined;
    }
    gallery = next;
    const result: GalleryInfo = { kind: next.kind, size: next.size, classNames: next.classNames, ms: now() - started };
    return result;
  },

  async neighbours({ network: kind, k }, ctx) {
    if (!gallery) throw new Error('no gallery');
    if (!input || !picture) throw new Error('no picture');
    const started = now();
    const featuresCached = gallery.features.has(kind);
    const bank = await galleryFeatures(kind, ctx.progress);
    const featuresMs = now() - started;
    const searchStarted = now();
    const q = tf.tidy(() => network(kind).forward(input!));
    const query = { data: (await q.data()) as Float32Array, rows: 1, dim: bank.dim };
    q.dispose();
    const kk = Math.min(k, bank.rows);
    const report = await knnClassifier(bank, gallery.labels, query, [0], {
      k: kk, T: KNN_T, numClasses: gallery.classNames.length, returnNeighbors: true, returnPredictions: true,
    });
    const searchMs = now() - searchStarted;
    const nb = report.neighbors!;
    const g = gallery;
    const ds = g.kind === 'shapes' ? shapesDataset(shapes(), requireModel().info.imgSize, 'train', g.size) : null;
    const neighbours = Array.from({ length: kk }, (_, j) => {
      const index = nb.indices[j];
      let thumbnail: RgbaImage;
      if (ds) {
        const item = ds.getSync(index);
        thumbnail = thumbnailOf({ name: '', rgb: item.image as Uint8Array, width: ds.width, height: ds.height });
      } else thumbnail = { ...g.thumbnails![index], data: g.thumbnails![index].data.slice() };
      return { index, label: g.classNames[g.labels[index]], similarity: nb.similarities[j], thumbnail };
    });
    ctx.transfer(...neighbours.map((n) => n.thumbnail.data.buffer));
    const truth = picture.label !== undefined && g.kind === 'shapes' ? g.classNames[picture.label] : undefined;
    return {
      network: kind,
      k: kk,
      neighbours,
      vote: g.classNames[report.results[0].predictions![0]],
      truth,
      featuresCached,
      ms: { features: featuresMs, search: searchMs },
    };
  },

  async knnAccuracy({ bank, heldOut, k }, ctx) {
    const started = now();
    const { info } = requireModel();
    const spec = shapes();
    const norm = { mean: info.mean, std: info.std };
    const train = shapesDataset(spec, info.imgSize, 'train', bank);
    const test = shapesDataset(spec, info.imgSize, 'test', heldOut);
    const ms = { trained: 0, random: 0, total: 0 };
    const top1 = { trained: 0, random: 0 };
    for (const kind of ['trained', 'random'] as const) {
      const t = now();
      const report = await evaluateKnn(network(kind), fromIndexedDataset(train, norm), fromIndexedDataset(test, norm), {
        k: [k], T: KNN_T, numClasses: train.numClasses, batchSize: BATCH,
        onProgress: (done, total, phase) => ctx.progress(done, total, `${kind}: ${phase === 'knn' ? 'k-NN' : `${phase} features`}`),
      });
      top1[kind] = report.results[0].top1;
      ms[kind] = now() - t;
    }
    ms.total = now() - started;
    return { bank, heldOut, k, chance: 100 / train.numClasses, ...top1, ms };
  },

  stats: () => {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  },
};

serve<EngineApi>(handlers);
