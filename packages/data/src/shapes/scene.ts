/**
 * Random scene descriptions: a cluttered background and shaped, textured objects, all in
 * normalised image coordinates ([0, 1] across the image). A scene does not depend on the pixel
 * size it is rendered at, so item i at 32 px and at 64 px is the same picture.
 */
import { ConfigError, type Rng } from '@dino-ts/core';
import { colorDistance, randomColor, type RGB } from './color';

export const TEXTURE_KINDS = ['solid', 'stripes', 'dots', 'gradient', 'checker'] as const;
export type TextureKind = (typeof TEXTURE_KINDS)[number];

/** A fill pattern in a frame (u along `dir`, v across it). */
export interface Texture {
  kind: TextureKind;
  c1: RGB;
  c2: RGB;
  /** Unit direction of stripes / gradient / grid. */
  ux: number;
  uy: number;
  /** Stripe / grid / checker period in the frame's units. */
  period: number;
  phase: number;
}

export interface ObjectSpec {
  /** Index into SHAPE_CLASSES. */
  shape: number;
  cx: number;
  cy: number;
  /** Radius of the shape's unit disc, as a fraction of the image side. */
  radius: number;
  /** Rotation in radians. */
  angle: number;
  /** Texture in the object's own (rotating, unit-disc) frame. */
  texture: Texture;
}

export interface Blob {
  x: number;
  y: number;
  r: number;
  color: RGB;
  alpha: number;
}

export interface Line {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Width as a fraction of the image side. */
  width: number;
  color: RGB;
  alpha: number;
}

export interface BackgroundSpec {
  gradA: RGB;
  gradB: RGB;
  /** Direction of the colour gradient. */
  gx: number;
  gy: number;
  noiseColor: RGB;
  noiseAmount: number;
  /** Value-noise lattices: coarse (cells x cells) and fine (2 cells x 2 cells). */
  cells: number;
  coarse: Float32Array;
  fine: Float32Array;
  /** A faint pattern over the whole background (same kinds as object textures). */
  pattern: Texture | null;
  patternAmount: number;
  blobs: Blob[];
  lines: Line[];
  /** Per-pixel noise amplitude and its seed. */
  grain: number;
  grainSeed: number;
}

/** How busy the background is: 0 = plain gradient, 1 = the default clutter. */
export interface ClutterOptions {
  clutter: number;
}

export function randomTexture(rng: Rng, kinds: readonly TextureKind[], c1: RGB, c2: RGB, periodRange: [number, number]): Texture {
  const kind = kinds[rng.int(kinds.length)];
  const a = rng.uniform(0, Math.PI);
  return {
    kind,
    c1,
    c2,
    ux: Math.cos(a),
    uy: Math.sin(a),
    period: rng.uniform(periodRange[0], periodRange[1]),
    phase: rng.next(),
  };
}

function lattice(rng: Rng, cells: number): Float32Array {
  const v = new Float32Array((cells + 1) * (cells + 1));
  for (let k = 0; k < v.length; k++) v[k] = rng.next();
  return v;
}

export function randomBackground(rng: Rng, { clutter }: ClutterOptions): BackgroundSpec {
  const ga = rng.uniform(0, 2 * Math.PI);
  const cells = 2 + rng.int(4);
  const bg: BackgroundSpec = {
    gradA: randomColor(rng),
    gradB: randomColor(rng),
    gx: Math.cos(ga),
    gy: Math.sin(ga),
    noiseColor: randomColor(rng),
    noiseAmount: clutter * rng.uniform(0.25, 0.75),
    cells,
    coarse: lattice(rng, cells),
    fine: lattice(rng, 2 * cells),
    pattern: null,
    patternAmount: 0,
    blobs: [],
    lines: [],
    grain: clutter * rng.uniform(0.02, 0.06),
    grainSeed: rng.nextU32(),
  };
  // Background patterns use the object texture kinds, so a texture alone never marks the object.
  if (rng.bernoulli(0.4 * Math.min(1, clutter))) {
    bg.pattern = randomTexture(rng, ['stripes', 'dots', 'checker'], randomColor(rng), randomColor(rng), [0.08, 0.2]);
    bg.patternAmount = rng.uniform(0.2, 0.5);
  }
  const nBlobs = Math.round(clutter * (1 + rng.int(4)));
  for (let k = 0; k < nBlobs; k++) {
    bg.blobs.push({ x: rng.next(), y: rng.next(), r: rng.uniform(0.06, 0.2), color: randomColor(rng), alpha: rng.uniform(0.4, 0.85) });
  }
  const nLines = Math.round(clutter * (1 + rng.int(5)));
  for (let k = 0; k < nLines; k++) {
    bg.lines.push({
      x0: rng.uniform(-0.2, 1.2),
      y0: rng.uniform(-0.2, 1.2),
      x1: rng.uniform(-0.2, 1.2),
      y1: rng.uniform(-0.2, 1.2),
      width: rng.uniform(0.015, 0.05),
      color: randomColor(rng),
      alpha: rng.uniform(0.4, 0.9),
    });
  }
  return bg;
}

/**
 * Colours for an object that stand out from the background behind it: the main colour is at
 * least `minContrast` (RGB distance) from every background sample, the second colour 0.8 of that.
 * Colours come from the same distribution as the background's, whatever the class.
 */
export function contrastingColors(rng: Rng, behind: RGB[], minContrast: number, avoid: RGB[] = []): [RGB, RGB] {
  const score = (c: RGB, others: RGB[]) => Math.min(...others.map((o) => colorDistance(c, o)));
  const pick = (threshold: number, others: RGB[]): RGB => {
    let best: RGB = randomColor(rng);
    let bestScore = score(best, others);
    for (let t = 0; t < 40 && bestScore < threshold; t++) {
      const c = randomColor(rng);
      const s = score(c, others);
      if (s > bestScore) {
        best = c;
        bestScore = s;
      }
    }
    return best;
  };
  const c1 = pick(minContrast, [...behind, ...avoid]);
  const c2 = pick(minContrast * 0.8, behind);
  return [c1, c2];
}

/**
 * 'colour': random colours for objects and backgrounds. 'mono': light objects on a dark
 * background, the same in every image, so shape, size and position are all that vary.
 */
export type Palette = 'colour' | 'mono';

export function checkPalette(palette: unknown): asserts palette is Palette {
  if (palette !== 'colour' && palette !== 'mono') throw new ConfigError('palette', palette, "must be 'colour' or 'mono'");
}

/** The data set name's mark of its palette: mono sets are named so (shapes32-mono). */
export function paletteSuffix(palette: Palette): string {
  return palette === 'mono' ? '-mono' : '';
}

const MONO_BACKGROUND: RGB = [0.12, 0.12, 0.12];
const MONO_CLUTTER: RGB = [0.3, 0.3, 0.3];
const MONO_OBJECT: RGB = [0.88, 0.88, 0.88];
const MONO_SHADE: RGB = [0.7, 0.7, 0.7];

/**
 * Greys out a scene in place: a dark background with dim clutter, light objects (a second, close
 * shade for textures). Applied after every random draw, so the rest of the scene (pose, mask,
 * label, clutter layout) is the same as in colour.
 */
export function monochrome(bg: BackgroundSpec, textures: Texture[]): void {
  bg.gradA = MONO_BACKGROUND;
  bg.gradB = MONO_BACKGROUND;
  bg.noiseColor = MONO_CLUTTER;
  if (bg.pattern) bg.pattern = { ...bg.pattern, c1: MONO_CLUTTER, c2: MONO_BACKGROUND };
  for (const b of bg.blobs) b.color = MONO_CLUTTER;
  for (const l of bg.lines) l.color = MONO_CLUTTER;
  for (const t of textures) {
    t.c1 = MONO_OBJECT;
    t.c2 = MONO_SHADE;
  }
}
