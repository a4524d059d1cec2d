import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@dino-ts/core';
import { useBackend } from '@dino-ts/core/testing';
import { createBackbone, listBackbones, registerBackbone, VIT_PRESETS } from './registry';
import { VisionTransformer } from './vit';

describe('backbone registry', () => {
  beforeAll(() => useBackend('cpu'));

  it('lists the ViT presets and the free-size vit', () => {
    expect(listBackbones()).toEqual(expect.arrayContaining(['vit', 'vit_tiny', 'vit_small', 'vit_base']));
  });

  it('a preset with another patch size has the preset sizes and the parameter count of its shapes', () => {
    // vit_tiny (the lightest preset to build) and a small image keep the test light.
    const vit = createBackbone('vit_tiny', { patchSize: 8, imgSize: 16 });
    expect(vit).toBeInstanceOf(VisionTransformer);
    expect(vit.name).toBe('vit_tiny');
    expect([vit.embedDim, vit.depth, vit.numHeads, vit.patchSize]).toEqual([192, 12, 3, 8]);
    const d = 192;
    const perBlock = 4 * d + 3 * d * d + 3 * d + d * d + d + 4 * d * d + 4 * d + 4 * d * d + d;
    const expected = d + 5 * d + d * 3 * 64 + d + 12 * perBlock + 2 * d;
    let n = 0;
    for (const v of vit.params().values()) n += v.size;
    expect(n).toBe(expected);
    vit.dispose();
  });

  it('the presets fix their sizes; vit takes free sizes', () => {
    for (const [name, p] of Object.entries(VIT_PRESETS)) {
      expect(() => createBackbone(name, { embedDim: p.embedDim + 1, imgSize: 16 })).toThrow(ConfigError);
    }
    const vit = createBackbone('vit', { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 12, depth: 1, numHeads: 3 });
    expect(vit.forward(tf.zeros([1, 28, 28, 1]) as tf.Tensor4D).shape).toEqual([1, 12]);
    vit.dispose();
  });

  it('unknown names throw listing the known ones', () => {
    expect(() => createBackbone('vit_huge')).toThrow(ConfigError);
    expect(() => createBackbone('vit_huge')).toThrow(/"vit_small"/);
  });

  it('registerBackbone adds a factory and refuses silent replacement', () => {
    registerBackbone('test_micro', (opts, name) =>
      new VisionTransformer({ imgSize: 8, patchSize: 4, embedDim: 8, depth: 1, numHeads: 2, ...opts }, name));
    expect(listBackbones()).toContain('test_micro');
    const m = createBackbone('test_micro', { inChans: 2 });
    expect([m.name, m.inChans]).toEqual(['test_micro', 2]);
    m.dispose();
    expect(() => registerBackbone('test_micro', () => m)).toThrow(/already registered/);
    expect(() => registerBackbone('test_micro', () => m, { override: true })).not.toThrow();
  });
});
