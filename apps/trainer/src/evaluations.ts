/**
 * The evaluations the trainer runs (final report and `dino eval ...`), each a thin composition of
 * @dino-ts/eval protocols over the run's data: k-NN, linear probe, attention-mask Jaccard,
 * video label propagation (J&F), and the pictures (attention gallery, nearest neighbours).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Backbone } from '@dino-ts/backbones';
import * as ev from '@dino-ts/eval';
// PNG encoding (sharp) lives in the Node-only entry of @dino-ts/eval.
import { encodePng } from '@dino-ts/eval/node';
import * as data from '@dino-ts/data';
import type { Dataset } from '@dino-ts/data';
import { firstItems, limit, type OpenedData } from './datasets';
import { EVAL_BANK, type TrainConfig } from './config';

function norm(d: OpenedData) {
  return { mean: d.mean, std: d.std };
}

/** `size` training images (seeded subset); 0 or more than the split: the whole training split. */
export function bankOf(d: OpenedData, seed: number, size = EVAL_BANK): Dataset {
  return limit(d.train, size, seed + 11);
}

export interface FrozenFeatures {
  bank: Dataset;
  /** CLS of the last n blocks (each final-normalised), concatenated: [rows, n * D]. */
  train: ev.ExtractedFeatures;
  test: ev.ExtractedFeatures;
  /** D, the width of one block's CLS (the last D columns are the k-NN feature). */
  dim: number;
}

/**
 * One extraction serves both protocols: the concatenated CLS of the last blocks feed the linear
 * probe, and the last of them (the final-normalised CLS, what `forward` returns) feeds k-NN.
 */
export async function frozenFeatures(backbone: Backbone, d: OpenedData, seed: number, bankSize = EVAL_BANK): Promise<FrozenFeatures> {
  const bank = bankOf(d, seed, bankSize);
  const opts = { nLastBlocks: Math.min(4, backbone.depth), batchSize: 128 };
  const train = await ev.extractFeatures(backbone, ev.fromIndexedDataset(bank, norm(d)), opts);
  const test = await ev.extractFeatures(backbone, ev.fromIndexedDataset(d.test, norm(d)), opts);
  return { bank, train, test, dim: backbone.embedDim };
}

function lastColumns(f: ev.FeatureMatrix, dim: number): ev.FeatureMatrix {
  if (f.dim === dim) return f;
  const out = new Float32Array(f.rows * dim);
  for (let r = 0; r < f.rows; r++) out.set(f.data.subarray((r + 1) * f.dim - dim, (r + 1) * f.dim), r * dim);
  return { data: out, rows: f.rows, dim };
}

export async function knnEval(f: FrozenFeatures, d: OpenedData, k: number[] = [10, 20, 100, 200], T = 0.07) {
  return ev.knnClassifier(lastColumns(f.train, f.dim), f.train.labels!, lastColumns(f.test, f.dim), f.test.labels!, {
    k: k.filter((x) => x <= f.bank.length),
    T,
    numClasses: d.train.numClasses,
    returnNeighbors: true,
  });
}

/** Linear probe on the cached frozen features (CLS of the last min(4, depth) blocks). */
export async function linearEval(f: FrozenFeatures, d: OpenedData, seed: number, epochs = 100) {
  return ev.trainLinearClassifier(f.train, f.train.labels!, {
    epochs,
    numLabels: d.train.numClasses,
    // Small data: at the reference rule (0.001 x batch / 256) a probe on a few thousand cached
    // features barely moves in 100 epochs; a larger lr is the usual choice for small sets.
    batchSize: 256,
    lr: 0.1,
    seed,
    test: { features: f.test, labels: f.test.labels! },
  });
}

/** Mean Jaccard of the 60%-mass attention masks against the object masks (best head and head-mean). */
export async function jaccardEval(backbone: Backbone, d: OpenedData, maxImages = 512) {
  const test = firstItems(d.test, maxImages);
  return ev.evaluateAttentionSegmentation(backbone, ev.fromIndexedDataset(test, norm(d)), { batchSize: 64 });
}

type VideoConfig = Pick<TrainConfig, 'seed' | 'dataset' | 'shapesPalette' | 'shapesClutter'>;

/**
 * The moving-shapes videos a run is evaluated on: twice the training image size, and for a model
 * trained on shapes, the training look (palette and clutter); for any other data, the default.
 */
export function videoSet(d: Pick<OpenedData, 'imageSize'>, c: VideoConfig, videos = 6, frames = 8): data.MovingShapesDataset {
  const look = c.dataset === 'shapes' ? { palette: c.shapesPalette, clutter: c.shapesClutter } : {};
  return new data.MovingShapesDataset({ length: videos, size: d.imageSize * 2, numFrames: frames, seed: c.seed + 101, ...look });
}

/** Video object segmentation by label propagation on moving-shapes videos; DAVIS J&F. */
export async function videoEval(backbone: Backbone, d: OpenedData, c: VideoConfig) {
  const set = videoSet(d, c);
  const size = set.height;
  const frames = set.numFrames;
  const sequences: ev.DavisSequenceResult[] = [];
  for (let v = 0; v < set.length; v++) {
    const video = set.get(v);
    const frameTensor = (t: number) =>
      tf.tidy(() => {
        const { image } = set.frame(video, t);
        const x = tf.div(tf.tensor3d(Float32Array.from(image), [size, size, 3]), 255);
        return tf.div(tf.sub(x, tf.tensor1d(d.mean)), tf.tensor1d(d.std)) as tf.Tensor3D;
      });
    const gt = Array.from({ length: frames }, (_, t) => ({ data: set.frame(video, t).mask, height: size, width: size }));
    const pred = await ev.segmentVideo(backbone, { length: frames, getFrame: frameTensor }, gt[0]);
    sequences.push(ev.evaluateDavisSequence(gt, pred, { numObjects: video.numObjects }));
  }
  return ev.davisSummary(sequences);
}

/** Attention gallery (input, head-mean, per-head heat maps, masks) of the first `n` held-out images. */
export async function attentionGalleryPng(backbone: Backbone, d: OpenedData, n = 8, scale = 4): Promise<Buffer> {
  const b = await d.test.getBatch(Array.from({ length: Math.min(n, d.test.length) }, (_, i) => i));
  const x = tf.tidy(() => tf.div(tf.sub(tf.tensor4d(b.images, b.shape), tf.tensor1d(d.mean)), tf.tensor1d(d.std)) as tf.Tensor4D);
  try {
    const vis = await ev.visualizeAttention(backbone, x, { mean: d.mean, std: d.std, scale });
    return Buffer.from(await encodePng(ev.attentionGallery(vis, { padding: 3 })));
  } finally {
    x.dispose();
  }
}

/**
 * For `n` held-out images: the image, then the first three principal components of the patch
 * features of each network as RGB (per image; the trained teacher's, then the random init's):
 * where, without labels, the object separates from the background.
 */
export async function pcaGalleryPng(networks: Backbone[], d: OpenedData, n = 8, scale = 4): Promise<Buffer> {
  const count = Math.min(n, d.test.length);
  const b = await d.test.getBatch(Array.from({ length: count }, (_, i) => i));
  const H = d.imageSize, C = d.channels, per = H * H * C;
  const rgb = (p: ev.RgbaImage): ev.RgbImage => {
    const data = new Uint8Array(p.width * p.height * 3);
    for (let i = 0; i < p.width * p.height; i++) data.set(p.data.subarray(i * 4, i * 4 + 3), i * 3);
    return { data, width: p.width, height: p.height };
  };
  const tiles: ev.RgbImage[] = [];
  for (let i = 0; i < count; i++) {
    const pixels = b.images.subarray(i * per, (i + 1) * per);
    tiles.push(ev.enlarge(ev.toRgbImage(pixels, H, H, C, { mean: [0], std: [1] }), scale));
    const x = tf.tidy(() => tf.div(tf.sub(tf.tensor4d(pixels, [1, H, H, C]), tf.tensor1d(d.mean)), tf.tensor1d(d.std)) as tf.Tensor4D);
    try {
      for (const net of networks) {
        const { picture } = await ev.patchFeaturePca(net, x);
        tiles.push(ev.enlarge(rgb(picture), Math.max(1, Math.round((H * scale) / picture.width))));
      }
    } finally {
      x.dispose();
    }
  }
  return Buffer.from(await encodePng(ev.imageGrid(tiles, { cols: 1 + networks.length, padding: 3 })));
}

/** For `n` held-out queries: the query, then its top neighbours in the bank (green border: same class). */
export async function neighboursPng(
  d: OpenedData,
  bank: Dataset,
  neighbors: ev.KnnNeighbors,
  n = 8,
  shown = 6,
  scale = 3,
): Promise<Buffer> {
  const tiles: ev.RgbImage[] = [];
  const H = d.imageSize, C = d.channels;
  const tile = (img: Float32Array, border: [number, number, number] | null) => {
    const rgb = ev.enlarge(ev.toRgbImage(img, H, H, C, { mean: [0], std: [1] }), scale);
    if (!border) return rgb;
    const { width: w, height: h, data: px } = rgb;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        if (y < 2 || x < 2 || y >= h - 2 || x >= w - 2) px.set(border, (y * w + x) * 3);
    return rgb;
  };
  const queries = Array.from({ length: Math.min(n, d.test.length) }, (_, i) => i);
  const qb = await d.test.getBatch(queries);
  const per = H * H * C;
  for (let qi = 0; qi < queries.length; qi++) {
    tiles.push(tile(qb.images.subarray(qi * per, (qi + 1) * per), [40, 40, 40]));
    const idx = Array.from(neighbors.indices.subarray(qi * neighbors.k, qi * neighbors.k + shown));
    const nb = await bank.getBatch(idx);
    for (let j = 0; j < idx.length; j++) {
      const same = nb.labels[j] === qb.labels[qi];
      tiles.push(tile(nb.images.subarray(j * per, (j + 1) * per), same ? [30, 160, 60] : [200, 40, 40]));
    }
  }
  return Buffer.from(await encodePng(ev.imageGrid(tiles, { cols: 1 + shown, padding: 3 })));
}
