/**
 * The DAVIS-2017 measures (davis2017-evaluation, davis2017/metrics.py and utils.py):
 * J = region similarity (IoU), F = boundary F-measure (1-pixel boundary maps, matched within a disk
 * of radius ceil(0.008 x image diagonal)), per-object statistics over the frames (mean, recall =
 * fraction above 0.5, decay = first-quarter mean minus last-quarter mean), and the J&F mean.
 */
import { ShapeError, checkNumber } from '@dino-ts/core';
import { DEFAULTS } from './defaults';

/** A 2-D map (mask or label map), row-major. */
export interface Map2D {
  data: ArrayLike<number>;
  height: number;
  width: number;
}

function checkSame(a: Map2D, b: Map2D, what: string): void {
  for (const m of [a, b]) {
    if (m.data.length !== m.height * m.width) throw new ShapeError(`${what}: ${m.data.length} values for ${m.height}x${m.width}`);
  }
  if (a.height !== b.height || a.width !== b.width) {
    throw new ShapeError(`${what}: shapes differ, ${a.height}x${a.width} vs ${b.height}x${b.width}`);
  }
}

/**
 * Region similarity J: |gt ∩ pred| / |gt ∪ pred| of the non-zero pixels; 1 when both are empty
 * (db_eval_iou).
 */
export function davisJ(gt: Map2D, pred: Map2D): number {
  checkSame(gt, pred, 'davisJ');
  let inter = 0, union = 0;
  for (let i = 0; i < gt.data.length; i++) {
    const a = gt.data[i] !== 0, b = pred.data[i] !== 0;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * One-pixel boundary map of a mask (_seg2bmap): a pixel is on the boundary when it differs from
 * its east, south or south-east neighbour; the last row compares only east, the last column only
 * south, and the bottom-right pixel is never a boundary.
 */
export function seg2bmap(mask: Map2D): Uint8Array {
  const { height: h, width: w, data } = mask;
  const b = new Uint8Array(h * w);
  const at = (y: number, x: number) => (data[y * w + x] !== 0 ? 1 : 0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = at(y, x);
      const e = x + 1 < w ? at(y, x + 1) : 0;
      const so = y + 1 < h ? at(y + 1, x) : 0;
      const se = x + 1 < w && y + 1 < h ? at(y + 1, x + 1) : 0;
      let v: number;
      if (y === h - 1 && x === w - 1) v = 0;
      else if (x === w - 1) v = s ^ so;
      else if (y === h - 1) v = s ^ e;
      else v = (s ^ e) | (s ^ so) | (s ^ se);
      b[y * w + x] = v;
    }
  }
  return b;
}

/**
 * Binary dilation by a disk of the given radius (skimage disk: x^2 + y^2 <= r^2), pixels outside
 * the image never set (cv2.dilate's default border).
 */
export function dilateDisk(map: Uint8Array, height: number, width: number, radius: number): Uint8Array {
  const r = Math.floor(radius);
  const offsets: [number, number][] = [];
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r) offsets.push([dy, dx]);
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!map[y * width + x]) continue;
      for (const [dy, dx] of offsets) {
        const yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < height && xx >= 0 && xx < width) out[yy * width + xx] = 1;
      }
    }
  }
  return out;
}

/**
 * Boundary F-measure F (db_eval_boundary(annotation, segmentation) -> f_measure): boundary
 * pixels matched within ceil(boundTh x diagonal) pixels (or boundTh pixels when boundTh >= 1).
 */
export function davisF(gt: Map2D, pred: Map2D, boundTh: number = DEFAULTS.davis.boundTh): number {
  checkSame(gt, pred, 'davisF');
  checkNumber('boundTh', boundTh, { min: 0, minExclusive: true });
  const { height: h, width: w } = gt;
  const boundPix = boundTh >= 1 ? boundTh : Math.ceil(boundTh * Math.hypot(h, w));
  const fgB = seg2bmap(pred), gtB = seg2bmap(gt);
  const fgDil = dilateDisk(fgB, h, w, boundPix), gtDil = dilateDisk(gtB, h, w, boundPix);
  let nFg = 0, nGt = 0, fgMatch = 0, gtMatch = 0;
  for (let i = 0; i < h * w; i++) {
    nFg += fgB[i];
    nGt += gtB[i];
    fgMatch += fgB[i] & gtDil[i];
    gtMatch += gtB[i] & fgDil[i];
  }
  let precision: number, recall: number;
  if (nFg === 0 && nGt > 0) [precision, recall] = [1, 0];
  else if (nFg > 0 && nGt === 0) [precision, recall] = [0, 1];
  else if (nFg === 0 && nGt === 0) [precision, recall] = [1, 1];
  else [precision, recall] = [fgMatch / nFg, gtMatch / nGt];
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

export interface DavisStatistics {
  /** Mean over frames. */
  mean: number;
  /** Fraction of frames above 0.5. */
  recall: number;
  /** Mean of the first quarter of the frames minus the mean of the last quarter. */
  decay: number;
}

/** db_statistics of per-frame values (NaN entries skipped in the means). */
export function dbStatistics(values: ArrayLike<number>): DavisStatistics {
  const n = values.length;
  const nanmean = (from: number, to: number) => {
    let s = 0, c = 0;
    for (let i = from; i < Math.min(to, n); i++) if (!Number.isNaN(values[i])) { s += values[i]; c++; }
    return c ? s / c : NaN;
  };
  let above = 0;
  for (let i = 0; i < n; i++) if (values[i] > 0.5) above++;
  // ids = round(linspace(1, n, 5) + 1e-10) - 1; bins are ids[i] .. ids[i+1] inclusive.
  const ids = [0, 1, 2, 3, 4].map((i) => Math.round(1 + (i * (n - 1)) / 4 + 1e-10) - 1);
  return {
    mean: nanmean(0, n),
    recall: n ? above / n : NaN,
    decay: nanmean(ids[0], ids[1] + 1) - nanmean(ids[3], ids[4] + 1),
  };
}

export interface DavisObjectResult {
  /** Object id (label value). */
  id: number;
  /** J per evaluated frame (the first and last frames excluded). */
  J: Float64Array;
  F: Float64Array;
  JStats: DavisStatistics;
  FStats: DavisStatistics;
}

export interface DavisSequenceResult {
  name: string;
  objects: DavisObjectResult[];
}

export interface DavisSequenceOptions {
  name?: string;
  boundTh?: number;
  /** Objects evaluated: ids 1..numObjects. Default: the largest label of the first ground-truth frame. */
  numObjects?: number;
}

/**
 * The semi-supervised protocol for one video: label maps of every frame (ground truth and
 * prediction), objects 1..N, frames 1..T-2 (the given first frame and the last one are not scored),
 * void label 255 of the ground truth counted as background.
 *
 * @example
 * const seq = evaluateDavisSequence(gtFrames, predFrames, { name: 'bike-packing' });
 * davisSummary([seq])['J&F-Mean'];
 */
export function evaluateDavisSequence(gt: Map2D[], pred: Map2D[], opts: DavisSequenceOptions = {}): DavisSequenceResult {
  if (gt.length !== pred.length) throw new ShapeError(`evaluateDavisSequence: ${gt.length} ground-truth frames, ${pred.length} predicted`);
  if (gt.length < 3) throw new ShapeError(`evaluateDavisSequence: needs at least 3 frames (first and last are not scored), got ${gt.length}`);
  let numObjects = opts.numObjects;
  if (numObjects === undefined) {
    numObjects = 0;
    for (let i = 0; i < gt[0].data.length; i++) if (gt[0].data[i] !== 255) numObjects = Math.max(numObjects, gt[0].data[i]);
  }
  const binary = (m: Map2D, id: number): Map2D => ({
    data: Uint8Array.from({ length: m.data.length }, (_, i) => (m.data[i] === id ? 1 : 0)),
    height: m.height,
    width: m.width,
  });
  const objects: DavisObjectResult[] = [];
  for (let id = 1; id <= numObjects; id++) {
    const J = new Float64Array(gt.length - 2), F = new Float64Array(gt.length - 2);
    for (let t = 1; t < gt.length - 1; t++) {
      const g = binary(gt[t], id), p = binary(pred[t], id);
      J[t - 1] = davisJ(g, p);
      F[t - 1] = davisF(g, p, opts.boundTh);
    }
    objects.push({ id, J, F, JStats: dbStatistics(J), FStats: dbStatistics(F) });
  }
  return { name: opts.name ?? 'sequence', objects };
}

export interface DavisSummary {
  'J&F-Mean': number;
  'J-Mean': number;
  'J-Recall': number;
  'J-Decay': number;
  'F-Mean': number;
  'F-Recall': number;
  'F-Decay': number;
  /** Per object, named `<sequence>_<id>`: its J and F means. */
  perObject: Record<string, { J: number; F: number }>;
}

/** The global table of davis2017-evaluation: means over all objects of all sequences. */
export function davisSummary(sequences: DavisSequenceResult[]): DavisSummary {
  const objs = sequences.flatMap((s) => s.objects.map((o) => ({ name: `${s.name}_${o.id}`, o })));
  const mean = (f: (o: DavisObjectResult) => number) => objs.reduce((a, { o }) => a + f(o), 0) / objs.length;
  const jm = mean((o) => o.JStats.mean), fm = mean((o) => o.FStats.mean);
  return {
    'J&F-Mean': (jm + fm) / 2,
    'J-Mean': jm,
    'J-Recall': mean((o) => o.JStats.recall),
    'J-Decay': mean((o) => o.JStats.decay),
    'F-Mean': fm,
    'F-Recall': mean((o) => o.FStats.recall),
    'F-Decay': mean((o) => o.FStats.decay),
    perObject: Object.fromEntries(objs.map(({ name, o }) => [name, { J: o.JStats.mean, F: o.FStats.mean }])),
  };
}
