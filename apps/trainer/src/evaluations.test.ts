import { describe, it, expect } from 'vitest';
import { videoSet } from './evaluations';
import { resolveConfig, PRESETS } from './config';

describe('videoSet', () => {
  it('gives a shapes run videos of its own look, and any other run the default videos', () => {
    const shapes = resolveConfig([PRESETS.shapes.values]);
    const mono = videoSet({ imageSize: 32 }, shapes).get(0);
    // The preset trains on mono shapes: every object is the same light grey.
    expect(Array.from(mono.colors)).toEqual(Array(3 * mono.numObjects).fill(Math.fround(0.88)));
    const colour = videoSet({ imageSize: 32 }, { ...shapes, shapesPalette: 'colour' }).get(0);
    expect(new Set(Array.from(colour.colors)).size).toBeGreaterThan(1);
    // Same seed, same motion and masks: only the look changes.
    expect(Array.from(colour.masks)).toEqual(Array.from(mono.masks));
    const fmnist = videoSet({ imageSize: 28 }, { ...shapes, dataset: 'fashion-mnist' });
    expect(fmnist.height).toBe(56);
    expect(new Set(Array.from(fmnist.get(0).colors)).size).toBeGreaterThan(1);
  });
});
