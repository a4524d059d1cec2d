import { describe, expect, it } from 'vitest';
import { MovingShapesDataset } from './index';

describe('MovingShapesDataset', () => {
  const ds = new MovingShapesDataset({ length: 12, size: 64, numFrames: 8, seed: 5 });

  it('is deterministic per (seed, i) and has the documented layout', () => {
    const a = ds.get(3);
    const b = new MovingShapesDataset({ length: 12, size: 64, numFrames: 8, seed: 5 }).get(3);
    expect(Buffer.from(a.frames).equals(Buffer.from(b.frames))).toBe(true);
    expect(Buffer.from(a.masks).equals(Buffer.from(b.masks))).toBe(true);
    expect(Buffer.from(ds.get(4).frames).equals(Buffer.from(a.frames))).toBe(false);
    expect(a.frames.length).toBe(8 * 64 * 64 * 3);
    expect(a.masks.length).toBe(8 * 64 * 64);
    expect(a.numObjects).toBeGreaterThanOrEqual(2);
    expect(a.numObjects).toBeLessThanOrEqual(3);
    expect(Math.max(...a.masks)).toBeLessThanOrEqual(a.numObjects);
    // Distinct shapes per video.
    expect(new Set(a.labels).size).toBe(a.numObjects);
    const f = ds.frame(a, 2);
    expect(f.image.length).toBe(64 * 64 * 3);
    expect(f.mask[100]).toBe(a.masks[2 * 64 * 64 + 100]);
  });

  it('masks follow the objects: mask centroids track the motion, pixels under a mask show its object', () => {
    const s = ds.height;
    for (let v = 0; v < ds.length; v++) {
      const video = ds.get(v);
      const T = video.numFrames;
      for (let k = 1; k <= video.numObjects; k++) {
        const colorOf = (j: number) => Array.from(video.colors.subarray(3 * (j - 1), 3 * j), (c) => c * 255);
        const centroids: [number, number, number][] = [];
        for (let t = 0; t < T; t++) {
          let n = 0, sx = 0, sy = 0;
          const mean = [0, 0, 0];
          for (let p = 0; p < s * s; p++) {
            if (video.masks[t * s * s + p] !== k) continue;
            n++;
            sx += (p % s) + 0.5;
            sy += Math.floor(p / s) + 0.5;
            for (let ch = 0; ch < 3; ch++) mean[ch] += video.frames[(t * s * s + p) * 3 + ch];
          }
          if (n === 0) continue; // fully hidden behind another object
          centroids.push([t, sx / n, sy / n]);
          // Pixels labelled k show object k: their mean colour is nearer k's colour than any other object's.
          const dist = (j: number) => Math.hypot(...colorOf(j).map((c, ch) => mean[ch] / n - c));
          for (let j = 1; j <= video.numObjects; j++) if (j !== k) expect(dist(k)).toBeLessThan(dist(j));
          expect(dist(k)).toBeLessThan(0.3 * 255);
        }
        expect(centroids.length).toBeGreaterThan(T / 2);
        // The centroid moves with the track: its displacement between frames matches the track's.
        for (let j = 1; j < centroids.length; j++) {
          const [t0, x0, y0] = centroids[j - 1];
          const [t1, x1, y1] = centroids[j];
          const tr = (t: number) => [video.tracks[((k - 1) * T + t) * 3], video.tracks[((k - 1) * T + t) * 3 + 1]];
          const [a0, b0] = tr(t0), [a1, b1] = tr(t1);
          const err = Math.hypot(x1 - x0 - (a1 - a0), y1 - y0 - (b1 - b0));
          // Occlusion by a passing object and the slight rotation move the centroid a little.
          expect(err).toBeLessThan(4);
        }
        // And objects do move.
        const first = centroids[0], last = centroids[centroids.length - 1];
        expect(Math.hypot(last[1] - first[1], last[2] - first[2])).toBeGreaterThan(1);
      }
    }
  });

  it('keeps the background static: pixels no object covers in two frames barely change', () => {
    const video = ds.get(0);
    const s = ds.height;
    let diff = 0, n = 0;
    for (let p = 0; p < s * s; p++) {
      if (video.masks[p] !== 0 || video.masks[s * s * 7 + p] !== 0) continue;
      for (let ch = 0; ch < 3; ch++) diff += Math.abs(video.frames[p * 3 + ch] - video.frames[(7 * s * s + p) * 3 + ch]);
      n += 3;
    }
    // Only the per-frame grain (and anti-aliased edges) differs.
    expect(diff / n).toBeLessThan(12);
  });

  it('rejects bad options', () => {
    expect(() => new MovingShapesDataset({ minObjects: 3, maxObjects: 2 })).toThrow(/maxObjects/);
    expect(() => new MovingShapesDataset({ numFrames: 0 })).toThrow(/numFrames/);
    expect(() => new MovingShapesDataset({ speedRange: [0.2, 0.1] })).toThrow(/speedRange/);
    expect(() => ds.get(12)).toThrow(/index = 12/);
    expect(() => new MovingShapesDataset({ palette: 'neon' as never })).toThrow(/palette = "neon"/);
  });

  it("palette 'mono': the colour video's shapes, tracks and masks, in grey, objects light on dark", () => {
    const opts = { length: 3, size: 32, numFrames: 4, seed: 5, clutter: 0.5 };
    const colour = new MovingShapesDataset(opts);
    const mono = new MovingShapesDataset({ ...opts, palette: 'mono' });
    for (let v = 0; v < mono.length; v++) {
      const a = colour.get(v), b = mono.get(v);
      expect(Array.from(b.labels)).toEqual(Array.from(a.labels));
      expect(Array.from(b.tracks)).toEqual(Array.from(a.tracks));
      expect(Array.from(b.masks)).toEqual(Array.from(a.masks));
      for (let k = 0; k < b.numObjects; k++) expect(Array.from(b.colors.subarray(3 * k, 3 * k + 3))).toEqual([0.88, 0.88, 0.88].map(Math.fround));
      let obj = 0, nObj = 0, bg = 0, maxSpread = 0;
      for (let p = 0; p < b.masks.length; p++) {
        const [r, g, bl] = [b.frames[3 * p], b.frames[3 * p + 1], b.frames[3 * p + 2]];
        maxSpread = Math.max(maxSpread, Math.abs(r - g), Math.abs(g - bl));
        if (b.masks[p]) (obj += r), nObj++;
        else bg += r;
      }
      // Grey but for the per-channel grain; objects far brighter than the background.
      expect(maxSpread).toBeLessThanOrEqual(Math.ceil(2 * 0.06 * 0.5 * 255));
      expect(obj / nObj - bg / (b.masks.length - nObj)).toBeGreaterThan(100);
    }
  });
});
