/**
 * The shape classes as signed distance functions in a local frame where the shape fits the unit
 * disc (negative inside). Exact distances near the boundary let the rasteriser anti-alias by
 * coverage = clamp(0.5 - distance_in_pixels, 0, 1).
 */

/** Signed distance to a simple closed polygon (flat array x0, y0, x1, y1, ...). */
export function polygonSdf(px: number, py: number, v: Float64Array): number {
  const n = v.length / 2;
  let dx = px - v[0];
  let dy = py - v[1];
  let d = dx * dx + dy * dy;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i, i++) {
    const xi = v[2 * i], yi = v[2 * i + 1];
    const xj = v[2 * j], yj = v[2 * j + 1];
    const ex = xj - xi, ey = yj - yi;
    const wx = px - xi, wy = py - yi;
    // Distance to the segment: project w on e, clamped to the segment.
    const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
    const bx = wx - ex * t, by = wy - ey * t;
    const b2 = bx * bx + by * by;
    if (b2 < d) d = b2;
    // Even-odd rule by crossings of a horizontal ray (the sign).
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  const dist = Math.sqrt(d);
  return inside ? -dist : dist;
}

function regular(n: number, radius: number, phase = -Math.PI / 2): Float64Array {
  const v = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const a = phase + (2 * Math.PI * k) / n;
    v[2 * k] = radius * Math.cos(a);
    v[2 * k + 1] = radius * Math.sin(a);
  }
  return v;
}

function star(points: number, outer: number, inner: number): Float64Array {
  const v = new Float64Array(4 * points);
  for (let k = 0; k < 2 * points; k++) {
    const a = -Math.PI / 2 + (Math.PI * k) / points;
    const r = k % 2 === 0 ? outer : inner;
    v[2 * k] = r * Math.cos(a);
    v[2 * k + 1] = r * Math.sin(a);
  }
  return v;
}

function poly(points: number[]): Float64Array {
  return new Float64Array(points);
}

/** The classic heart curve x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t (y up). */
function heart(n: number): Float64Array {
  const v = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const t = (2 * Math.PI * k) / n;
    const x = 16 * Math.sin(t) ** 3;
    const y = 13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) - Math.cos(4 * t);
    // Image y points down; centre the curve's bounding box (y spans about -17..12).
    v[2 * k] = x / 16.5;
    v[2 * k + 1] = -(y + 2.5) / 16.5;
  }
  return v;
}

const SQUARE = poly([-0.72, -0.72, 0.72, -0.72, 0.72, 0.72, -0.72, 0.72]);
const TRIANGLE = regular(3, 1.0);
const STAR = star(5, 1.0, 0.42);
const CROSS = poly([
  -0.28, -0.95, 0.28, -0.95, 0.28, -0.28, 0.95, -0.28, 0.95, 0.28, 0.28, 0.28,
  0.28, 0.95, -0.28, 0.95, -0.28, 0.28, -0.95, 0.28, -0.95, -0.28, -0.28, -0.28,
]);
const HEXAGON = regular(6, 0.92, 0);
const HEART = heart(32);
const ARROW = poly([-0.95, -0.22, 0.15, -0.22, 0.15, -0.62, 0.95, 0, 0.15, 0.62, 0.15, 0.22, -0.95, 0.22]);

/** Euclidean length (Math.hypot is several times slower in V8). */
function len(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

/** A shape class: its signed distance in the unit-disc frame. */
export interface ShapeClass {
  readonly name: string;
  sdf(x: number, y: number): number;
}

/**
 * The shape classes, in label order. Sizes are tuned so each reads clearly at 32 px; thin parts
 * (ring, cross, crescent) are at least a fifth of the radius wide.
 */
export const SHAPE_CLASSES: readonly ShapeClass[] = [
  { name: 'circle', sdf: (x, y) => len(x, y) - 0.85 },
  { name: 'square', sdf: (x, y) => polygonSdf(x, y, SQUARE) },
  { name: 'triangle', sdf: (x, y) => polygonSdf(x, y, TRIANGLE) },
  { name: 'star', sdf: (x, y) => polygonSdf(x, y, STAR) },
  { name: 'cross', sdf: (x, y) => polygonSdf(x, y, CROSS) },
  { name: 'ring', sdf: (x, y) => Math.abs(len(x, y) - 0.72) - 0.24 },
  { name: 'heart', sdf: (x, y) => polygonSdf(x, y, HEART) },
  // A disc minus a shifted disc; max(a, -b) is exact outside and a close bound inside.
  { name: 'crescent', sdf: (x, y) => Math.max(len(x, y) - 0.92, 0.72 - len(x - 0.48, y)) },
  { name: 'arrow', sdf: (x, y) => polygonSdf(x, y, ARROW) },
  { name: 'hexagon', sdf: (x, y) => polygonSdf(x, y, HEXAGON) },
];

/** Names of all shape classes, in label order. */
export const SHAPE_CLASS_NAMES: readonly string[] = SHAPE_CLASSES.map((s) => s.name);

/** Distance from (px, py) to the segment (ax, ay)-(bx, by). */
export function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const ex = bx - ax, ey = by - ay;
  const wx = px - ax, wy = py - ay;
  const l2 = ex * ex + ey * ey;
  const t = l2 > 0 ? Math.min(1, Math.max(0, (wx * ex + wy * ey) / l2)) : 0;
  const dx = wx - ex * t, dy = wy - ey * t;
  return Math.sqrt(dx * dx + dy * dy);
}
