import { ConfigError, Rng, checkInt, checkNumber, withDefaults } from '@dino-ts/core';
import { checkIndex } from '../collate';
import { STREAM, hashInts, mix32 } from '../hash';
import type { RGB } from './color';
import { SHAPE_CLASS_NAMES } from './geometry';
import { renderScene } from './raster';
import { checkPalette, contrastingColors, monochrome, paletteSuffix, randomBackground, randomTexture, type ObjectSpec, type Palette, type TextureKind } from './scene';
import { colorsBehind } from './shapes-dataset';

export interface MovingShapesOptions {
  /** Number of videos. */
  length?: number;
  /** Frame side in pixels. */
  size?: number;
  /** Frames per video (T). */
  numFrames?: number;
  minObjects?: number;
  maxObjects?: number;
  seed?: number;
  clutter?: number;
  /** Object radius range, fraction of the image side. */
  radiusRange?: readonly [number, number];
  /** Speed range, fraction of the image side per frame. */
  speedRange?: readonly [number, number];
  /** Largest rotation per frame, radians. */
  maxSpin?: number;
  /** 'colour' (default): objects of distinct random colours; 'mono': all light grey on dark. */
  palette?: Palette;
}

export const MOVING_SHAPES_DEFAULTS = {
  length: 100,
  size: 64,
  numFrames: 8,
  minObjects: 2,
  maxObjects: 3,
  seed: 0,
  clutter: 1,
  radiusRange: [0.12, 0.2] as readonly [number, number],
  speedRange: [0.015, 0.04] as readonly [number, number],
  maxSpin: 0.08,
  minContrast: 0.35,
  palette: 'colour' as Palette,
  /** Solid and shaded (gradient) fills keep each object one recognisable colour across frames. */
  textures: ['solid', 'gradient'] as TextureKind[],
  /** Brightness of the far side of a gradient-shaded object, relative to its main colour. */
  shade: 0.7,
};

/** One video: frames, per-frame instance masks and the objects' tracks. */
export interface VideoItem {
  /** [T * H * W * 3] bytes, frames one after another, HWC each. */
  frames: Uint8Array;
  /** [T * H * W] instance ids: 0 = background, k = object k (1-based, objects[k - 1]). */
  masks: Uint8Array;
  numFrames: number;
  numObjects: number;
  /** [numObjects] class index of each object (into classNames). */
  labels: Int32Array;
  /** [numObjects * T * 3] per object and frame: centre x, centre y (pixels), rotation (radians). */
  tracks: Float32Array;
  /** [numObjects * 3] each object's main colour, RGB in [0, 1]. */
  colors: Float32Array;
}

/** Position on a segment [lo, hi] of a point moving at constant speed that bounces off both ends. */
function bounce(start: number, velocity: number, t: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return lo;
  let p = (start - lo + velocity * t) % (2 * span);
  if (p < 0) p += 2 * span;
  return lo + (p <= span ? p : 2 * span - p);
}

/**
 * "Moving shapes": short videos of 2-3 objects of distinct shapes and colours that translate
 * (bouncing off the borders) and rotate slightly across T frames over a static cluttered
 * background, with per-frame instance masks: a small stand-in for DAVIS-style video object
 * segmentation by label propagation. Later objects pass in front of earlier ones. Video i is a
 * pure function of (seed, i).
 *
 * @example
 * const videos = new MovingShapesDataset({ length: 10, size: 64, numFrames: 8 });
 * const v = videos.get(0); // v.frames: 8 frames of 64x64x3, v.masks: 8 masks with ids 0..n
 */
export class MovingShapesDataset {
  readonly name: string;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels = 3;
  readonly numFrames: number;
  readonly classNames: readonly string[] = SHAPE_CLASS_NAMES;
  readonly seed: number;
  private readonly o: typeof MOVING_SHAPES_DEFAULTS;

  constructor(options: MovingShapesOptions = {}) {
    const o = withDefaults(MOVING_SHAPES_DEFAULTS, options);
    checkInt('length', o.length, 0);
    checkInt('size', o.size, 8, 4096);
    checkInt('numFrames', o.numFrames, 1, 10000);
    checkInt('minObjects', o.minObjects, 1, 6);
    checkInt('maxObjects', o.maxObjects, o.minObjects, 6);
    checkInt('seed', o.seed, 0, 0xffffffff);
    checkNumber('clutter', o.clutter, { min: 0, max: 2 });
    checkNumber('maxSpin', o.maxSpin, { min: 0, max: Math.PI });
    checkPalette(o.palette);
    const [rmin, rmax] = o.radiusRange;
    if (!(rmin > 0 && rmin <= rmax && rmax <= 0.3)) {
      throw new ConfigError('radiusRange', [...o.radiusRange], 'must be [min, max] with 0 < min <= max <= 0.3');
    }
    const [vmin, vmax] = o.speedRange;
    if (!(vmin >= 0 && vmin <= vmax && vmax <= 0.5)) {
      throw new ConfigError('speedRange', [...o.speedRange], 'must be [min, max] with 0 <= min <= max <= 0.5');
    }
    this.o = o;
    this.length = o.length;
    this.height = o.size;
    this.width = o.size;
    this.numFrames = o.numFrames;
    this.seed = o.seed;
    this.name = `moving-shapes${o.size}${paletteSuffix(o.palette)}`;
  }

  /** Video i. */
  get(i: number): VideoItem {
    checkIndex(this, i);
    const o = this.o;
    const rng = new Rng(hashInts(STREAM.movingItem, this.seed, i));
    const background = randomBackground(rng, { clutter: o.clutter });
    const n = o.minObjects + rng.int(o.maxObjects - o.minObjects + 1);
    // Distinct shapes: the first n of a seeded permutation of the classes.
    const shapes = rng.permutation(SHAPE_CLASS_NAMES.length).slice(0, n);
    const T = o.numFrames;
    const tracks = new Float32Array(n * T * 3);
    const colors = new Float32Array(n * 3);
    const motions: { x: number; y: number; vx: number; vy: number; a: number; spin: number; r: number }[] = [];
    const used: RGB[] = [];
    const objects: ObjectSpec[] = [];
    for (let k = 0; k < n; k++) {
      const r = rng.uniform(o.radiusRange[0], o.radiusRange[1]);
      const x = rng.uniform(r, 1 - r);
      const y = rng.uniform(r, 1 - r);
      const dir = rng.uniform(0, 2 * Math.PI);
      const speed = rng.uniform(o.speedRange[0], o.speedRange[1]);
      motions.push({ x, y, vx: speed * Math.cos(dir), vy: speed * Math.sin(dir), a: rng.uniform(0, 2 * Math.PI), spin: rng.uniform(-o.maxSpin, o.maxSpin), r });
      // Distinct colours: each object's main colour also keeps away from the earlier objects'.
      const [c1] = contrastingColors(rng, colorsBehind(background, 0.5, 0.5, 0.45), o.minContrast, used);
      used.push(c1);
      colors.set(c1, 3 * k);
      // The second colour is a darker shade of the first: shading, not a second colour, so each
      // object keeps one identity to propagate.
      const shade: RGB = [c1[0] * o.shade, c1[1] * o.shade, c1[2] * o.shade];
      const texture = randomTexture(rng, o.textures, c1, shade, [0.35, 0.7]);
      objects.push({ shape: shapes[k], cx: x, cy: y, radius: r, angle: 0, texture });
    }
    if (o.palette === 'mono') {
      // After every draw, so a mono video has the colour one's shapes, tracks and masks.
      monochrome(background, objects.map((obj) => obj.texture));
      for (let k = 0; k < n; k++) colors.set(objects[k].texture.c1, 3 * k);
    }
    const s = this.height;
    const frames = new Uint8Array(T * s * s * 3);
    const masks = new Uint8Array(T * s * s);
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < n; k++) {
        const m = motions[k];
        const obj = objects[k];
        obj.cx = bounce(m.x, m.vx, t, m.r, 1 - m.r);
        obj.cy = bounce(m.y, m.vy, t, m.r, 1 - m.r);
        obj.angle = m.a + m.spin * t;
        const base = (k * T + t) * 3;
        tracks[base] = obj.cx * s;
        tracks[base + 1] = obj.cy * s;
        tracks[base + 2] = obj.angle;
      }
      renderScene(
        background,
        objects,
        s,
        { image: frames.subarray(t * s * s * 3, (t + 1) * s * s * 3), mask: masks.subarray(t * s * s, (t + 1) * s * s) },
        mix32(background.grainSeed + t),
      );
    }
    return { frames, masks, numFrames: T, numObjects: n, labels: Int32Array.from(shapes), tracks, colors };
  }

  /** Frame t of video v as an HWC image, with its instance mask. */
  frame(video: VideoItem, t: number): { image: Uint8Array; mask: Uint8Array } {
    checkInt('t', t, 0, video.numFrames - 1);
    const s = this.height;
    return {
      image: video.frames.subarray(t * s * s * 3, (t + 1) * s * s * 3),
      mask: video.masks.subarray(t * s * s, (t + 1) * s * s),
    };
  }
}

