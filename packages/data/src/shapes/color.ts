import type { Rng } from '@dino-ts/core';

/** An RGB colour with channels in [0, 1]. */
export type RGB = [number, number, number];

/** HSV (all in [0, 1]) to RGB. */
export function hsvToRgb(h: number, s: number, v: number): RGB {
  const k = (n: number) => (n + h * 6) % 6;
  const f = (n: number) => v - v * s * Math.max(0, Math.min(k(n), 4 - k(n), 1));
  return [f(5), f(3), f(1)];
}

/**
 * A random colour: uniform hue, any saturation from greyish to vivid, any value but black. The
 * same distribution serves objects and backgrounds, so colour says nothing about the class.
 */
export function randomColor(rng: Rng): RGB {
  return hsvToRgb(rng.next(), rng.uniform(0.1, 1), rng.uniform(0.18, 1));
}

/** Euclidean distance in RGB (0 .. sqrt 3). */
export function colorDistance(a: RGB, b: RGB): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}
