/**
 * Rasterises a scene: background colour per pixel, then each object composited by its
 * anti-aliased coverage, coverage = clamp(0.5 - signed distance in pixels, 0, 1), i.e. the
 * area of the pixel inside a straight edge. The mask records, per pixel, the topmost object
 * covering at least half of it.
 */
import { mix32 } from '../hash';
import { SHAPE_CLASSES, segmentDistance } from './geometry';
import type { RGB } from './color';
import type { BackgroundSpec, ObjectSpec, Texture } from './scene';

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** Bilinear value noise with smoothstep weights on a (cells+1)^2 lattice over [0, 1]^2. */
function valueNoise(lat: Float32Array, cells: number, x: number, y: number): number {
  const fx = Math.min(Math.max(x, 0), 1) * cells;
  const fy = Math.min(Math.max(y, 0), 1) * cells;
  const ix = Math.min(Math.floor(fx), cells - 1);
  const iy = Math.min(Math.floor(fy), cells - 1);
  const tx = smooth(fx - ix);
  const ty = smooth(fy - iy);
  const w = cells + 1;
  const a = lat[iy * w + ix], b = lat[iy * w + ix + 1];
  const c = lat[(iy + 1) * w + ix], d = lat[(iy + 1) * w + ix + 1];
  return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
}

function quantize(v: number): number {
  return Math.round(Math.min(1, Math.max(0, v)) * 255);
}

/** Coverage of a pixel by the inside (distance < 0) of an edge at signed distance `dist`. */
function edge(dist: number, pixel: number): number {
  return Math.min(1, Math.max(0, 0.5 - dist / pixel));
}

function fract(x: number): number {
  return x - Math.floor(x);
}

/**
 * Weight of the texture's second colour at frame point (x, y). `pixel` is one pixel in frame
 * units: pattern edges are blurred over it so fine patterns do not alias.
 */
export function textureWeight(t: Texture, x: number, y: number, pixel: number): number {
  const u = x * t.ux + y * t.uy;
  const v = -x * t.uy + y * t.ux;
  switch (t.kind) {
    case 'solid':
      return 0;
    case 'gradient':
      return Math.min(1, Math.max(0, (u + 1) * 0.5));
    case 'stripes': {
      // Distance (in frame units) from the middle of the nearest second-colour stripe.
      const s = Math.abs(fract(u / t.period + t.phase) - 0.5) * t.period;
      return edge(s - t.period * 0.25, pixel);
    }
    case 'dots': {
      const gu = (fract(u / t.period + t.phase) - 0.5) * t.period;
      const gv = (fract(v / t.period + t.phase) - 0.5) * t.period;
      return edge(Math.sqrt(gu * gu + gv * gv) - t.period * 0.3, pixel);
    }
    case 'checker': {
      const a = fract(u / t.period + t.phase) < 0.5;
      const b = fract(v / t.period + t.phase) < 0.5;
      return a !== b ? 1 : 0;
    }
  }
}

function mixInto(out: Float32Array, o: number, c: RGB, a: number): void {
  out[o] += (c[0] - out[o]) * a;
  out[o + 1] += (c[1] - out[o + 1]) * a;
  out[o + 2] += (c[2] - out[o + 2]) * a;
}

/**
 * The layers of the background every pixel has, written to out[o..o+2]: the gradient, the value
 * noise over it and the pattern over both (blobs and lines, which reach only some pixels, follow).
 */
function baseLayersAt(bg: BackgroundSpec, x: number, y: number, pixel: number, out: Float32Array, o: number): void {
  const g = Math.min(1, Math.max(0, (x - 0.5) * bg.gx + (y - 0.5) * bg.gy + 0.5));
  out[o] = bg.gradA[0] + (bg.gradB[0] - bg.gradA[0]) * g;
  out[o + 1] = bg.gradA[1] + (bg.gradB[1] - bg.gradA[1]) * g;
  out[o + 2] = bg.gradA[2] + (bg.gradB[2] - bg.gradA[2]) * g;
  if (bg.noiseAmount > 0) {
    const n = (2 * valueNoise(bg.coarse, bg.cells, x, y) + valueNoise(bg.fine, 2 * bg.cells, x, y)) / 3;
    mixInto(out, o, bg.noiseColor, bg.noiseAmount * n);
  }
  if (bg.pattern) mixInto(out, o, bg.pattern.c2, bg.patternAmount * textureWeight(bg.pattern, x, y, pixel));
}

/** The background colour at normalised point (x, y) without grain; `pixel` = 1 / size. */
export function backgroundAt(bg: BackgroundSpec, x: number, y: number, pixel: number, out: Float32Array, o: number): void {
  baseLayersAt(bg, x, y, pixel, out, o);
  for (const b of bg.blobs) {
    const d2 = ((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r);
    if (d2 < 9) mixInto(out, o, b.color, b.alpha * Math.exp(-d2));
  }
  for (const l of bg.lines) {
    const d = segmentDistance(x, y, l.x0, l.y0, l.x1, l.y1) - l.width * 0.5;
    if (d < pixel) mixInto(out, o, l.color, l.alpha * edge(d, pixel));
  }
}

/**
 * The background of the whole image: the same layers as `backgroundAt`, in the same order, but
 * layer by layer so that blobs and lines only visit the pixels they can reach.
 */
function renderBackground(bg: BackgroundSpec, size: number, rgb: Float32Array): void {
  const pixel = 1 / size;
  const center = (p: number) => (p + 0.5) * pixel;
  for (let py = 0; py < size; py++) {
    const y = center(py);
    for (let px = 0; px < size; px++) baseLayersAt(bg, center(px), y, pixel, rgb, (py * size + px) * 3);
  }
  for (const b of bg.blobs) {
    // exp(-d^2 / r^2) is dropped beyond d = 3r, as in backgroundAt.
    const x0 = Math.max(0, Math.floor((b.x - 3 * b.r) * size)), x1 = Math.min(size - 1, Math.ceil((b.x + 3 * b.r) * size));
    const y0 = Math.max(0, Math.floor((b.y - 3 * b.r) * size)), y1 = Math.min(size - 1, Math.ceil((b.y + 3 * b.r) * size));
    const inv = 1 / (b.r * b.r);
    for (let py = y0; py <= y1; py++) {
      const dy2 = (center(py) - b.y) ** 2;
      for (let px = x0; px <= x1; px++) {
        const d2 = ((center(px) - b.x) ** 2 + dy2) * inv;
        if (d2 < 9) mixInto(rgb, (py * size + px) * 3, b.color, b.alpha * Math.exp(-d2));
      }
    }
  }
  for (const l of bg.lines) {
    const ex = l.x1 - l.x0, ey = l.y1 - l.y0;
    const len = Math.sqrt(ex * ex + ey * ey);
    const reach = l.width * 0.5 + pixel;
    for (let py = 0; py < size; py++) {
      const y = center(py);
      for (let px = 0; px < size; px++) {
        const x = center(px);
        // Distance to the infinite line first: most pixels are far from it.
        if (len > 0 && Math.abs((x - l.x0) * ey - (y - l.y0) * ex) > reach * len) continue;
        const d = segmentDistance(x, y, l.x0, l.y0, l.x1, l.y1) - l.width * 0.5;
        if (d < pixel) mixInto(rgb, (py * size + px) * 3, l.color, l.alpha * edge(d, pixel));
      }
    }
  }
}

/** Signed distance (normalised units) from (x, y) to the object's boundary; local frame point in `local`. */
function objectDistance(obj: ObjectSpec, cos: number, sin: number, x: number, y: number, local: Float64Array): number {
  const dx = (x - obj.cx) / obj.radius, dy = (y - obj.cy) / obj.radius;
  // Rotate the point by -angle into the shape's frame.
  const lx = cos * dx + sin * dy;
  const ly = -sin * dx + cos * dy;
  local[0] = lx;
  local[1] = ly;
  return SHAPE_CLASSES[obj.shape].sdf(lx, ly) * obj.radius;
}

export interface RenderTarget {
  /** HWC RGB bytes, size * size * 3. */
  image: Uint8Array;
  /** HW instance ids (0 = background, k = objects[k - 1]), or null. */
  mask: Uint8Array | null;
}

/**
 * Renders background + objects (drawn in order, later on top) into `target` at `size` x `size`.
 * `grainSeed` varies the per-pixel noise (e.g. per video frame).
 */
export function renderScene(
  bg: BackgroundSpec,
  objects: readonly ObjectSpec[],
  size: number,
  target: RenderTarget,
  grainSeed = bg.grainSeed,
): void {
  const n = size * size;
  const rgb = new Float32Array(n * 3);
  const pixel = 1 / size;
  const local = new Float64Array(2);
  renderBackground(bg, size, rgb);
  const mask = target.mask;
  if (mask) mask.fill(0);
  const color = new Float32Array(3);
  for (let k = 0; k < objects.length; k++) {
    const obj = objects[k];
    // Only pixels within the unit disc (plus one pixel of anti-aliasing) can be covered.
    const reach = obj.radius + 1.5 * pixel;
    const x0 = Math.max(0, Math.floor((obj.cx - reach) * size));
    const x1 = Math.min(size - 1, Math.ceil((obj.cx + reach) * size));
    const y0 = Math.max(0, Math.floor((obj.cy - reach) * size));
    const y1 = Math.min(size - 1, Math.ceil((obj.cy + reach) * size));
    const tex = obj.texture;
    const texPixel = pixel / obj.radius;
    const cos = Math.cos(obj.angle), sin = Math.sin(obj.angle);
    for (let py = y0; py <= y1; py++) {
      const y = (py + 0.5) * pixel;
      for (let px = x0; px <= x1; px++) {
        const x = (px + 0.5) * pixel;
        const d = objectDistance(obj, cos, sin, x, y, local);
        const cov = Math.min(1, Math.max(0, 0.5 - d / pixel));
        if (cov <= 0) continue;
        const w = textureWeight(tex, local[0], local[1], texPixel);
        color[0] = tex.c1[0] + (tex.c2[0] - tex.c1[0]) * w;
        color[1] = tex.c1[1] + (tex.c2[1] - tex.c1[1]) * w;
        color[2] = tex.c1[2] + (tex.c2[2] - tex.c1[2]) * w;
        const o = (py * size + px) * 3;
        rgb[o] += (color[0] - rgb[o]) * cov;
        rgb[o + 1] += (color[1] - rgb[o + 1]) * cov;
        rgb[o + 2] += (color[2] - rgb[o + 2]) * cov;
        if (mask && cov >= 0.5) mask[py * size + px] = k + 1;
      }
    }
  }
  const img = target.image;
  const grain = bg.grain;
  // Grain: one hash per pixel, ten bits of it per channel, uniform in [-grain, grain].
  const g = (2 * grain) / 1024;
  for (let p = 0; p < n; p++) {
    const h = grain > 0 ? mix32(grainSeed ^ Math.imul(p + 1, 0x9e3779b1)) : 0x1ff | (0x1ff << 10) | (0x1ff << 20);
    const o = p * 3;
    img[o] = quantize(rgb[o] + ((h & 0x3ff) - 511.5) * g);
    img[o + 1] = quantize(rgb[o + 1] + (((h >>> 10) & 0x3ff) - 511.5) * g);
    img[o + 2] = quantize(rgb[o + 2] + (((h >>> 20) & 0x3ff) - 511.5) * g);
  }
}
