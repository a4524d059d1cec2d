// Bad configurations and inputs fail loudly, naming the parameter, the value and what is allowed.
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@dino-ts/core';
import { useBackend } from '@dino-ts/core/testing';
import { VisionTransformer } from './vit';
import type { VitConfig } from './vit-config';

const ok: VitConfig = { imgSize: 16, patchSize: 4, inChans: 3, embedDim: 16, depth: 2, numHeads: 2 };

function configError(cfg: Partial<VitConfig>): ConfigError {
  try {
    new VisionTransformer({ ...ok, ...cfg } as VitConfig).dispose();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`no error for ${JSON.stringify(cfg)}`);
}

describe('VisionTransformer config errors', () => {
  beforeAll(() => useBackend('cpu'));

  const cases: [string, Partial<VitConfig>, string][] = [
    ['depth < 1', { depth: 0 }, 'depth'],
    ['embedDim not divisible by numHeads', { embedDim: 18, numHeads: 4 }, 'numHeads'],
    ['image size not divisible by patch size', { imgSize: 18 }, 'imgSize'],
    ['non-square image size not divisible', { imgSize: [16, 18] }, 'imgSize'],
    ['non-positive image size', { imgSize: -16 }, 'imgSize'],
    ['non-positive patch size', { patchSize: 0 }, 'patchSize'],
    ['non-integer patch size', { patchSize: 2.5 }, 'patchSize'],
    ['non-positive embedDim', { embedDim: 0 }, 'embedDim'],
    ['non-positive numHeads', { numHeads: 0 }, 'numHeads'],
    ['non-positive inChans', { inChans: 0 }, 'inChans'],
    ['non-positive mlpRatio', { mlpRatio: 0 }, 'mlpRatio'],
    ['dropPathRate = 1', { dropPathRate: 1 }, 'dropPathRate'],
    ['dropPathRate < 0', { dropPathRate: -0.1 }, 'dropPathRate'],
    ['dropPathRate NaN', { dropPathRate: Number.NaN }, 'dropPathRate'],
    ['missing embedDim', { embedDim: undefined }, 'embedDim'],
  ];
  for (const [label, cfg, param] of cases) {
    it(`${label} -> ConfigError naming ${param}`, () => {
      const e = configError(cfg);
      expect(e.param).toBe(param);
      expect(e.message).toContain(param);
      expect(e.message).toMatch(/must/);
    });
  }

  it('the message states the value and the allowed values', () => {
    expect(configError({ embedDim: 18, numHeads: 4 }).message).toBe('Invalid numHeads = 4: must divide embedDim (18).');
    expect(configError({ dropPathRate: 1 }).message).toContain('= 1');
    expect(configError({ dropPathRate: 1 }).message).toContain('< 1');
    expect(configError({ imgSize: 18 }).message).toContain('multiple of patchSize (4)');
  });

  it('accepts a non-square [H, W] image size', () => {
    const vit = new VisionTransformer({ ...ok, imgSize: [8, 16] });
    expect(vit.config.grid).toEqual([2, 4]);
    expect(vit.params().get('pos_embed')!.shape).toEqual([1, 9, 16]);
    vit.dispose();
  });
});

describe('VisionTransformer input errors', () => {
  let vit: VisionTransformer;
  beforeAll(async () => {
    await useBackend('cpu');
    vit = new VisionTransformer(ok);
  });

  const bad: [string, number[]][] = [
    ['rank 3', [16, 16, 3]],
    ['wrong channels', [1, 16, 16, 1]],
    ['height not a multiple of the patch', [1, 18, 16, 3]],
    ['width not a multiple of the patch', [1, 16, 10, 3]],
    ['smaller than one patch', [1, 0, 16, 3]],
  ];
  for (const [label, shape] of bad) {
    it(`${label} -> ShapeError stating the shape`, () => {
      const x = tf.zeros(shape as [number, number, number, number]) as tf.Tensor4D;
      for (const call of [
        () => vit.forward(x),
        () => vit.forwardFeatures(x),
        () => vit.getLastSelfAttention(x),
        () => vit.getIntermediateLayers(x, 1),
      ]) {
        expect(call).toThrow(ShapeError);
        expect(call).toThrow(`[${shape.join(', ')}]`);
      }
      x.dispose();
    });
  }

  it('getIntermediateLayers n outside [1, depth] -> ConfigError naming n', () => {
    const x = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    for (const n of [0, 3, 1.5]) {
      try {
        vit.getIntermediateLayers(x, n);
        throw new Error('no error');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).param).toBe('n');
      }
    }
    x.dispose();
  });

  it('interpolatePosEncoding with a size not a multiple of the patch -> ConfigError', () => {
    expect(() => vit.interpolatePosEncoding(18, 16)).toThrow(ConfigError);
    expect(() => vit.interpolatePosEncoding(16, 0)).toThrow(/width/);
  });
});
