import { ConfigError, Rng, checkInt, checkNumber, withDefaults } from '@dino-ts/core';
import { STREAM, hashInts } from '../hash';
import { SyncDatasetBase } from '../sync-dataset';
import type { DataItem } from '../types';
import type { RGB } from './color';
import { SHAPE_CLASS_NAMES } from './geometry';
import { renderScene, backgroundAt } from './raster';
import {
  TEXTURE_KINDS,
  checkPalette,
  paletteSuffix,
  contrastingColors,
  monochrome,
  randomBackground,
  randomTexture,
  type BackgroundSpec,
  type ObjectSpec,
  type Palette,
  type TextureKind,
} from './scene';

export interface ShapesOptions {
  /** Number of items (any size: items are computed, not stored). */
  length?: number;
  /** Image side in pixels (square images). */
  size?: number;
  seed?: number;
  /** Class names to use, a subset of SHAPE_CLASS_NAMES (labels follow this order). */
  classes?: readonly string[];
  /** Background clutter: 0 = plain gradient, 1 = default (noise, blobs, lines, patterns). */
  clutter?: number;
  /** Object radius range as a fraction of the image side. */
  radiusRange?: readonly [number, number];
  /** Object fill textures to draw from. */
  textures?: readonly TextureKind[];
  /** Least RGB distance between the object's main colour and the background behind it. */
  minContrast?: number;
  /** Largest rotation of the object either way, in degrees (180: any orientation). */
  maxRotation?: number;
  /**
   * How far the object's centre may sit from the image centre, as a fraction of the room left by
   * its radius (1: anywhere it fits, 0: always centred).
   */
  placement?: number;
  /** 'colour' (default) or 'mono' (see `Palette`). */
  palette?: Palette;
}

export const SHAPES_DEFAULTS = {
  length: 10000,
  size: 32,
  seed: 0,
  classes: SHAPE_CLASS_NAMES,
  clutter: 1,
  radiusRange: [0.24, 0.4] as readonly [number, number],
  textures: TEXTURE_KINDS as readonly TextureKind[],
  minContrast: 0.35,
  maxRotation: 180,
  placement: 1,
  palette: 'colour' as Palette,
  /** Texture period range in the object's unit-disc frame. */
  texturePeriod: [0.45, 0.8] as [number, number],
};

/** Everything that defines one picture, before rasterisation (for tests and tools). */
export interface ShapesScene {
  background: BackgroundSpec;
  object: ObjectSpec;
  label: number;
}

/** Samples the background at the object's centre and around it, where the object will sit. */
export function colorsBehind(bg: BackgroundSpec, cx: number, cy: number, radius: number): RGB[] {
  const out: RGB[] = [];
  const buf = new Float32Array(3);
  const pts: [number, number][] = [[0, 0]];
  for (let k = 0; k < 8; k++) pts.push([Math.cos((k * Math.PI) / 4) * 0.6, Math.sin((k * Math.PI) / 4) * 0.6]);
  for (const [dx, dy] of pts) {
    backgroundAt(bg, cx + dx * radius, cy + dy * radius, 1 / 64, buf, 0);
    out.push([buf[0], buf[1], buf[2]]);
  }
  return out;
}

/**
 * The embedded default data set: procedural colour images of one shape (circle, square,
 * triangle, star, cross, ring, heart, crescent, arrow, hexagon) on a cluttered background, with
 * the class label and the exact object mask. Needs no download.
 *
 * Every factor a shortcut could use is random and independent of the class: colours (objects
 * and backgrounds share one colour distribution), fill texture (solid, stripes, dots, gradient,
 * checker; the background uses the same patterns), size, position, rotation; the background
 * carries value noise, soft blobs, lines and grain. With `palette: 'mono'` every image is a light
 * object on a dark background instead, so colour cannot stand in for the shape. The object always
 * contrasts with what is behind it, so a person sees the shape at once, while k-NN on raw pixels
 * does poorly.
 *
 * Item i is a pure function of (seed, i): random access, any length, identical bytes on every
 * run. Labels are balanced: each run of `numClasses` consecutive items holds every class once.
 *
 * @example
 * const shapes = new ShapesDataset({ length: 5000, size: 32, seed: 0 });
 * const { image, label, mask } = shapes.getSync(0); // Uint8Array 32*32*3, 0..9, Uint8Array 32*32
 */
export class ShapesDataset extends SyncDatasetBase {
  readonly name: string;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels = 3;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly seed: number;
  private readonly shapeIndex: number[];
  private readonly opts: Required<Omit<ShapesOptions, 'length' | 'size' | 'seed' | 'classes'>>;

  constructor(options: ShapesOptions = {}) {
    super();
    const o = withDefaults(SHAPES_DEFAULTS, options);
    checkInt('length', o.length, 0);
    checkInt('size', o.size, 4, 4096);
    checkInt('seed', o.seed, 0, 0xffffffff);
    checkNumber('clutter', o.clutter, { min: 0, max: 2 });
    checkNumber('minContrast', o.minContrast, { min: 0, max: 1.5 });
    checkNumber('maxRotation', o.maxRotation, { min: 0, max: 180 });
    checkNumber('placement', o.placement, { min: 0, max: 1 });
    checkPalette(o.palette);
    if (o.radiusRange.length !== 2 || !(o.radiusRange[0] > 0 && o.radiusRange[0] <= o.radiusRange[1] && o.radiusRange[1] <= 0.5)) {
      throw new ConfigError('radiusRange', [...o.radiusRange], 'must be [min, max] with 0 < min <= max <= 0.5');
    }
    if (o.classes.length < 1) throw new ConfigError('classes', [], `must name at least one of ${SHAPE_CLASS_NAMES.join(', ')}`);
    this.shapeIndex = o.classes.map((c) => {
      const k = SHAPE_CLASS_NAMES.indexOf(c);
      if (k < 0) throw new ConfigError('classes', c, `each class must be one of ${SHAPE_CLASS_NAMES.join(', ')}`);
      return k;
    });
    if (new Set(o.classes).size !== o.classes.length) throw new ConfigError('classes', [...o.classes], 'must not repeat a class');
    if (o.textures.length < 1) throw new ConfigError('textures', [], `must name at least one of ${TEXTURE_KINDS.join(', ')}`);
    for (const t of o.textures) {
      if (!TEXTURE_KINDS.includes(t)) throw new ConfigError('textures', t, `each texture must be one of ${TEXTURE_KINDS.join(', ')}`);
    }
    this.length = o.length;
    this.height = o.size;
    this.width = o.size;
    this.seed = o.seed;
    this.classNames = [...o.classes];
    this.numClasses = o.classes.length;
    this.name = `shapes${o.size}${paletteSuffix(o.palette)}`;
    this.opts = {
      clutter: o.clutter, radiusRange: o.radiusRange, textures: o.textures, minContrast: o.minContrast,
      maxRotation: o.maxRotation, placement: o.placement, palette: o.palette,
    };
  }

  /** The class of item i: a seeded permutation of the classes in each block of numClasses items. */
  labelOf(i: number): number {
    const k = this.numClasses;
    const block = Math.floor(i / k);
    const perm = new Rng(hashInts(STREAM.shapesLabels, this.seed, block)).permutation(k);
    return perm[i - block * k];
  }

  /** The scene of item i (background, object placement, colours, texture). */
  scene(i: number): ShapesScene {
    const label = this.labelOf(i);
    const rng = new Rng(hashInts(STREAM.shapesItem, this.seed, i));
    const background = randomBackground(rng, { clutter: this.opts.clutter });
    const [rmin, rmax] = this.opts.radiusRange;
    const radius = rng.uniform(rmin, rmax);
    // Keep the unit disc inside the image (corners of squares may just touch the border).
    const room = (0.5 - radius) * this.opts.placement;
    const cx = rng.uniform(0.5 - room, 0.5 + room);
    const cy = rng.uniform(0.5 - room, 0.5 + room);
    const turn = (this.opts.maxRotation * Math.PI) / 180;
    // Any orientation keeps the original [0, 2 pi) draw, so default images stay byte-identical.
    const angle = turn >= Math.PI ? rng.uniform(0, 2 * Math.PI) : rng.uniform(-turn, turn);
    const [c1, c2] = contrastingColors(rng, colorsBehind(background, cx, cy, radius), this.opts.minContrast);
    const texture = randomTexture(rng, this.opts.textures, c1, c2, SHAPES_DEFAULTS.texturePeriod);
    // Mono overrides colours after every draw, so the rest of the scene matches the colour one.
    if (this.opts.palette === 'mono') monochrome(background, [texture]);
    return { background, object: { shape: this.shapeIndex[label], cx, cy, radius, angle, texture }, label };
  }

  protected item(i: number): DataItem {
    const { background, object, label } = this.scene(i);
    const s = this.height;
    const image = new Uint8Array(s * s * 3);
    const mask = new Uint8Array(s * s);
    renderScene(background, [object], s, { image, mask });
    return { image, label, mask };
  }
}
