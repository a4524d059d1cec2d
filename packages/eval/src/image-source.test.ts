import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { ShapesDataset } from '@dino-ts/data';
import { extractFeatures } from './extract-features';
import { evaluateAttentionSegmentation } from './attention-segmentation';
import { fromArrays, fromIndexedDataset, normalizeImages } from './image-source';
import { createTinyBackbone } from './testing';

describe('image sources', () => {
  it('slices host arrays in contiguous batches and by index, with labels and masks', async () => {
    const data = Float32Array.from({ length: 3 * 2 * 2 * 1 }, (_, i) => i);
    const src = fromArrays({ data, shape: [3, 2, 2, 1] }, [5, 6, 7], Uint8Array.from({ length: 12 }, (_, i) => i % 2));
    const b = await src.getBatch(1, 3);
    expect(b.images).toMatchObject({ shape: [2, 2, 2, 1] });
    expect(Array.from((b.images as { data: Float32Array }).data)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(Array.from(b.labels!)).toEqual([6, 7]);
    const items = await src.getItems!([2, 0]);
    expect(Array.from((items.images as { data: Float32Array }).data)).toEqual([8, 9, 10, 11, 0, 1, 2, 3]);
    expect(Array.from(items.masks!)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    expect(() => fromArrays({ data, shape: [4, 2, 2, 1] })).toThrow(ShapeError);
    expect(() => fromArrays({ data, shape: [3, 2, 2, 1] }, [1, 2])).toThrow(/labels/);
  });

  it('normalises per channel and rejects mismatched mean / std', () => {
    const n = normalizeImages({ data: Float32Array.from([1, 2, 3, 4]), shape: [1, 1, 2, 2] }, [1, 2], [2, 1]);
    expect(Array.from(n.data)).toEqual([0, 0, 1, 2]);
    expect(() => normalizeImages({ data: new Float32Array(6), shape: [1, 1, 2, 3] }, [1, 2])).toThrow(/mean has 2 values/);
  });
});

describeBackends('sources feeding the protocols', () => {
  it('adapts a data-package dataset (normalised, with object masks) to extraction and attention segmentation', async () => {
    const ds = new ShapesDataset({ length: 6, size: 16, seed: 3 });
    const source = fromIndexedDataset(ds, { mean: [0.5], std: [0.25] });
    const bb = createTinyBackbone({ patchSize: 4, embedDim: 8, depth: 1, seed: 2 });
    const before = tf.memory().numTensors;
    const f = await extractFeatures(bb, source, { batchSize: 4 });
    expect([f.rows, f.dim]).toEqual([6, 8]);
    expect(Array.from(f.labels!)).toEqual(Array.from((await ds.getBatch([0, 1, 2, 3, 4, 5])).labels));
    const seg = await evaluateAttentionSegmentation(bb, source, { batchSize: 4 });
    expect(seg.numImages).toBe(6);
    for (const j of seg.perImage.perHead) expect(j).toBeGreaterThanOrEqual(0), expect(j).toBeLessThanOrEqual(1);
    expect(tf.memory().numTensors).toBe(before);
    bb.dispose();
  });

  it('reports sources that return the wrong number of items, labels or masks', async () => {
    const bb = createTinyBackbone({ patchSize: 4, embedDim: 8, depth: 1 });
    const bad = { length: 4, getBatch: () => ({ images: { data: new Float32Array(3 * 8 * 8 * 3), shape: [3, 8, 8, 3] as [number, number, number, number] } }) };
    await expect(extractFeatures(bb, bad, { batchSize: 4 })).rejects.toThrow(/returned 3 images, expected 4/);
    await expect(evaluateAttentionSegmentation(bb, fromArrays({ data: new Float32Array(8 * 8 * 3), shape: [1, 8, 8, 3] }))).rejects.toThrow(/masks/);
    const before = tf.memory().numTensors;
    await expect(extractFeatures(bb, bad, { batchSize: 4 })).rejects.toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(before);
    bb.dispose();
  });
});
