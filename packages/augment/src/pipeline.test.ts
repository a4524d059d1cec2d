/**
 * One whole crop (resized crop, flip, colour jitter in each sample's order, grayscale, blur,
 * solarize, normalize) against the same steps in torchvision, and the multi-crop augmentation's
 * shapes, reproducibility, memory and configuration errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, Rng, ShapeError } from '@dino-ts/core';
import { describeBackends, assertClose } from '@dino-ts/core/testing';
import { loadFixture, fixtureTensor, fixtureNumbers, maxAbsDiff } from './test-fixtures';
import { applyCropParams, type CropParams, type CropSpec } from './crop-params';
import { MultiCropAugmentation, createDinoAugmentation } from './multi-crop-augmentation';
import { DINO_AUGMENT_DEFAULTS, dinoAugmentConfigForImageSize, resolveDinoAugmentConfig } from './dino-augment-config';
import type { ColorJitterParams } from './sampling';

const fx = loadFixture('pipeline.safetensors');
const TOL = 1e-5;

function fixtureParams(): CropParams {
  const n = fx.tensors.boxes.shape[0];
  const boxes = fixtureNumbers(fx, 'boxes');
  const order = fixtureNumbers(fx, 'order');
  const factors = fixtureNumbers(fx, 'factors');
  const jitter = fixtureNumbers(fx, 'jitter');
  return {
    boxes: Array.from({ length: n }, (_, b) => ({
      top: boxes[4 * b],
      left: boxes[4 * b + 1],
      height: boxes[4 * b + 2],
      width: boxes[4 * b + 3],
    })),
    flip: Uint8Array.from(fixtureNumbers(fx, 'flip')),
    jitter: Array.from({ length: n }, (_, b): ColorJitterParams | null =>
      jitter[b]
        ? {
            order: order.slice(4 * b, 4 * b + 4) as ColorJitterParams['order'],
            brightness: factors[4 * b],
            contrast: factors[4 * b + 1],
            saturation: factors[4 * b + 2],
            hue: factors[4 * b + 3],
          }
        : null,
    ),
    grayscale: Uint8Array.from(fixtureNumbers(fx, 'grayscale')),
    blurSigma: Float32Array.from(fixtureNumbers(fx, 'sigma')),
    solarize: Uint8Array.from(fixtureNumbers(fx, 'solarize')),
  };
}

function fixtureSpec(channels: number): CropSpec {
  const c = resolveDinoAugmentConfig();
  return {
    size: Number(fx.metadata.size),
    scale: c.globalCropsScale,
    ratio: c.ratio,
    interpolation: 'bicubic',
    flipP: 0,
    jitter: c.jitter,
    grayscaleP: 0,
    blurP: 0,
    blurSigma: c.blur.sigma,
    blurKernelSize: Number(fx.metadata.kernel_size),
    solarizeP: 0,
    solarizeThreshold: c.solarizeThreshold,
    mean: channels === 3 ? fixtureNumbers(fx, 'mean') : [Number(fx.metadata.gray_mean)],
    std: channels === 3 ? fixtureNumbers(fx, 'std') : [Number(fx.metadata.gray_std)],
  };
}

describeBackends('one crop vs torchvision', (backend) => {
  for (const [name, channels] of [['rgb', 3], ['gray', 1]] as const) {
    for (const mode of ['batched', 'per-sample'] as const) {
      it(`applyCropParams (${mode}) on ${name} images equals the reference's transform chain`, () => {
        const images = fixtureTensor<tf.Rank.R4>(fx, name);
        const out = applyCropParams(images, fixtureParams(), fixtureSpec(channels), { mode });
        const expected = fx.tensors[`out_${name}`];
        expect(out.shape).toEqual(expected.shape);
        const r = assertClose(out.dataSync(), expected.data as Float32Array, TOL, `pipeline ${name} ${mode}`);
        console.log(`pipeline ${name} ${mode} [${backend}]: max abs error ${r.maxAbs.toExponential(2)} (normalised)`);
      });
    }
  }
});

describeBackends('MultiCropAugmentation', () => {
  it('returns 2 global then N local crops, normalised, for RGB (32 px) and 1-channel (28 px) images', () => {
    const rgb = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const aug = createDinoAugmentation(dinoAugmentConfigForImageSize(32, { localCropsNumber: 4 }));
    const crops = aug.apply(rgb, new Rng(0));
    expect(crops.map((c) => c.shape)).toEqual([
      [3, 32, 32, 3],
      [3, 32, 32, 3],
      ...Array(4).fill([3, 16, 16, 3]),
    ]);
    // Un-normalised values stay in [0, 1].
    const { mean, std } = aug.config;
    for (const crop of crops) {
      const raw = tf.add(tf.mul(crop, tf.tensor1d(std)), tf.tensor1d(mean));
      expect(tf.min(raw).dataSync()[0]).toBeGreaterThanOrEqual(-1e-5);
      expect(tf.max(raw).dataSync()[0]).toBeLessThanOrEqual(1 + 1e-5);
    }

    const gray = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const augGray = new MultiCropAugmentation(dinoAugmentConfigForImageSize(28, { mean: [0.286], std: [0.353] }));
    const grayCrops = augGray.apply(gray, new Rng(1));
    expect(grayCrops.map((c) => c.shape)).toEqual([
      [2, 28, 28, 1],
      [2, 28, 28, 1],
      ...Array(8).fill([2, 12, 12, 1]),
    ]);
  });

  it('is reproducible from the seed, and the seed matters', () => {
    const images = tf.randomUniform([2, 24, 20, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const aug = createDinoAugmentation({ globalCropsSize: 16, localCropsSize: 8, localCropsNumber: 2 });
    const a = aug.apply(images, new Rng(42)).map((t) => t.dataSync());
    const b = aug.apply(images, new Rng(42)).map((t) => t.dataSync());
    const c = aug.apply(images, new Rng(43)).map((t) => t.dataSync());
    a.forEach((x, i) => expect(maxAbsDiff(x, b[i])).toBe(0));
    expect(Math.max(...a.map((x, i) => maxAbsDiff(x, c[i])))).toBeGreaterThan(0.1);
  });

  it('applyParams renders exactly what apply draws', () => {
    const images = tf.randomUniform([2, 20, 20, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const aug = createDinoAugmentation({ globalCropsSize: 12, localCropsSize: 6, localCropsNumber: 1 });
    const direct = aug.apply(images, new Rng(9));
    const viaParams = aug.applyParams(images, aug.sample(new Rng(9), 2, 20, 20));
    direct.forEach((t, i) => expect(maxAbsDiff(t.dataSync(), viaParams[i].dataSync())).toBe(0));
  });

  it('frees every temporary across apply, in both modes', () => {
    const images = tf.randomUniform([2, 24, 24, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const aug = createDinoAugmentation(dinoAugmentConfigForImageSize(24, { localCropsNumber: 3 }));
    const rng = new Rng(0);
    aug.apply(images, rng).forEach((t) => t.dispose());
    const before = tf.memory().numTensors;
    for (const mode of ['batched', 'per-sample', 'auto'] as const) {
      aug.apply(images, rng, { mode }).forEach((t) => t.dispose());
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('batched and per-sample rendering agree', () => {
    const images = tf.randomUniform([3, 30, 26, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const aug = createDinoAugmentation({ globalCropsSize: 16, localCropsSize: 8, localCropsNumber: 2 });
    const params = aug.sample(new Rng(11), 3, 30, 26);
    const a = aug.applyParams(images, params, { mode: 'batched' });
    const b = aug.applyParams(images, params, { mode: 'per-sample' });
    a.forEach((t, i) => assertClose(t.dataSync(), b[i].dataSync(), 1e-5, `crop ${i}`));
  });

  it('rejects images without 1 or 3 channels, and mean/std that do not fit the channels', () => {
    const aug = createDinoAugmentation({ globalCropsSize: 8, localCropsSize: 4, localCropsNumber: 1 });
    const two = tf.zeros([1, 10, 10, 2]) as tf.Tensor4D;
    expect(() => aug.apply(two, new Rng(0))).toThrow(ConfigError);
    const gray = tf.zeros([1, 10, 10, 1]) as tf.Tensor4D;
    expect(() => aug.apply(gray, new Rng(0))).toThrow(/mean/);
    expect(() => aug.apply(tf.zeros([10, 10, 3]) as unknown as tf.Tensor4D, new Rng(0))).toThrow(ShapeError);
  });
});

describe('configuration', () => {
  it('defaults are the reference values', () => {
    const aug = new MultiCropAugmentation();
    expect(aug.numCrops).toBe(2 + DINO_AUGMENT_DEFAULTS.localCropsNumber);
    expect(aug.crops.map((c) => c.size)).toEqual([224, 224, ...Array(8).fill(96)]);
    expect(aug.crops.map((c) => c.blurP)).toEqual([1.0, 0.1, ...Array(8).fill(0.5)]);
    expect(aug.crops.map((c) => c.solarizeP)).toEqual([0, 0.2, ...Array(8).fill(0)]);
    expect(aug.crops.map((c) => c.blurKernelSize)).toEqual(Array(10).fill(13));
  });

  it('derives crop sizes and blur sigma for small images', () => {
    const sizes = (n: number) => {
      const c = dinoAugmentConfigForImageSize(n);
      return [c.globalCropsSize, c.localCropsSize];
    };
    expect(sizes(28)).toEqual([28, 12]);
    expect(sizes(32)).toEqual([32, 16]);
    expect(sizes(224)).toEqual([224, 96]);
    const c = dinoAugmentConfigForImageSize(28);
    expect(c.blur.sigma[1]).toBeCloseTo((DINO_AUGMENT_DEFAULTS.blur.sigma[1] * 28) / 224, 12);
    const aug = new MultiCropAugmentation(c);
    expect(aug.crops.map((s) => s.blurKernelSize)).toEqual(Array(10).fill(3));
    // Overrides win over the derived values.
    expect(dinoAugmentConfigForImageSize(28, { localCropsSize: 14, blur: { sigma: [0.1, 0.2] } })).toMatchObject({
      localCropsSize: 14,
      blur: { sigma: [0.1, 0.2] },
    });
  });

  it.each([
    [{ flipP: 1.5 }, 'flipP'],
    [{ grayscaleP: -0.1 }, 'grayscaleP'],
    [{ solarizeP: 2 }, 'solarizeP'],
    [{ jitter: { p: 1.01 } }, 'jitter.p'],
    [{ jitter: { hue: 0.6 } }, 'jitter.hue'],
    [{ jitter: { brightness: -1 } }, 'jitter.brightness'],
    [{ blur: { localP: -1 } }, 'blur.localP'],
    [{ blur: { sigma: [2, 1] as [number, number] } }, 'blur.sigma'],
    [{ blur: { kernelSize: 4 } }, 'blur.kernelSize'],
    [{ globalCropsScale: [0.5, 0.4] as [number, number] }, 'globalCropsScale'],
    [{ localCropsScale: [0, 0.4] as [number, number] }, 'localCropsScale'],
    [{ localCropsScale: [0.05, 1.2] as [number, number] }, 'localCropsScale'],
    [{ globalCropsSize: 0 }, 'globalCropsSize'],
    [{ localCropsSize: 2.5 }, 'localCropsSize'],
    [{ localCropsNumber: -1 }, 'localCropsNumber'],
    [{ std: [0.2, 0, 0.2] }, 'std'],
    [{ mean: [0.1, 0.2] }, 'mean'],
    [{ interpolation: 'nearest' as 'bicubic' }, 'interpolation'],
  ])('rejects %o naming %s', (options, param) => {
    let err: unknown;
    try {
      resolveDinoAugmentConfig(options);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).param).toBe(param);
  });
});
