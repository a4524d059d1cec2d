import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@dino-ts/core';
import { tempDir } from '@dino-ts/core/testing';
import { ShapesDataset, randomIndices, randomSubset, subset, type Dataset } from '../index';
import { FASHION_MNIST_DIR, loadFashionMnist, openDataset, openDatasetSplits } from './index';

const haveFashionMnist = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

async function labelsOf(d: Dataset): Promise<number[]> {
  return Array.from((await d.getBatch(Array.from({ length: d.length }, (_, i) => i))).labels);
}

describe('randomSubset', () => {
  it('keeps the data set when the count is undefined, 0 or not below its length; else a seeded random subset', async () => {
    const ds = new ShapesDataset({ length: 50, size: 8 });
    for (const n of [undefined, 0, 50, 80]) expect(randomSubset(ds, n, 3)).toBe(ds);
    const s = randomSubset(ds, 10, 3);
    expect(s.length).toBe(10);
    expect(await labelsOf(s)).toEqual(await labelsOf(subset(ds, randomIndices(50, 10, 3))));
    expect(await labelsOf(randomSubset(ds, 10, 4))).not.toEqual(await labelsOf(s));
  });
});

describe('openDatasetSplits', () => {
  it('shapes: train and held-out images from two seeds, sized by trainSize / testSize, with masks', async () => {
    const look = { size: 16, classes: ['circle', 'square', 'star'], clutter: 0.5 };
    const { train, test, hasMasks } = await openDatasetSplits({ kind: 'shapes', ...look }, { trainSize: 40, testSize: 12, seed: 3 });
    expect([train.length, test.length, hasMasks]).toEqual([40, 12, true]);
    expect(train.classNames).toEqual(look.classes);
    const sameTrain = new ShapesDataset({ ...look, length: 40, seed: 7 });
    const sameTest = new ShapesDataset({ ...look, length: 12, seed: 8 });
    expect((await train.get(5)).image).toEqual(sameTrain.getSync(5).image);
    expect((await test.get(5)).image).toEqual(sameTest.getSync(5).image);
    expect((await train.get(0)).image).not.toEqual((await test.get(0)).image);
    const dflt = await openDatasetSplits({ kind: 'shapes', size: 8 });
    expect([dflt.train.length, dflt.test.length]).toEqual([10000, 1000]);
  });

  it('an image folder: a seeded held-out cut (at least one image), the rest to train, both capped', async () => {
    const root = tempDir('dino-splits-');
    for (const [cls, v] of [['a', 40], ['b', 200]] as const) {
      mkdirSync(join(root, cls));
      for (let i = 0; i < 10; i++) {
        await sharp(Buffer.alloc(6 * 6 * 3, v + i), { raw: { width: 6, height: 6, channels: 3 } }).png().toFile(join(root, cls, `${i}.png`));
      }
    }
    const spec = { kind: 'folder', root, size: 6 } as const;
    const { train, test, hasMasks } = await openDatasetSplits(spec, { seed: 1 });
    expect([train.length, test.length, hasMasks]).toEqual([18, 2, false]);
    const pixels = async (d: Dataset) => Promise.all(Array.from({ length: d.length }, async (_, i) => (await d.get(i)).image[0]));
    const trainPixels = await pixels(train);
    for (const p of await pixels(test)) expect(trainPixels).not.toContain(p);
    const quarter = await openDatasetSplits(spec, { seed: 1, folderHeldOut: 0.25, trainSize: 6 });
    expect([quarter.train.length, quarter.test.length]).toEqual([6, 5]);
    await expect(openDatasetSplits(spec, { folderHeldOut: 1 })).rejects.toThrow(/folderHeldOut = 1/);
  });

  it.skipIf(!haveFashionMnist)('Fashion-MNIST: the train and test files, capped by seeded random subsets', async () => {
    const { train, test, hasMasks } = await openDatasetSplits({ kind: 'fashion-mnist' }, { trainSize: 100, testSize: 30, seed: 2 });
    expect([train.length, test.length, hasMasks]).toEqual([100, 30, false]);
    const fullTest = await loadFashionMnist({ split: 'test' });
    expect(await labelsOf(test)).toEqual(await labelsOf(randomSubset(fullTest, 30, 3)));
    expect(train.name).toMatch(/^fashion-mnist\/train/);
  });

  it("keeps the loaders' messages and rejects bad sizes", async () => {
    const missing = join(tempDir('dino-splits-'), 'no-such-dir');
    await expect(openDatasetSplits({ kind: 'fashion-mnist', dir: missing })).rejects.toThrow(/no-such-dir.*apt-get install dataset-fashion-mnist/);
    await expect(openDatasetSplits({ kind: 'cifar10', dir: missing })).rejects.toThrow(/CIFAR-10 folder .*no-such-dir does not exist/);
    await expect(openDatasetSplits({ kind: 'shapes' }, { trainSize: -1 })).rejects.toThrow(ConfigError);
    await expect(openDataset({ kind: 'mnist' } as never)).rejects.toThrow(/kind = "mnist"/);
  });
});
