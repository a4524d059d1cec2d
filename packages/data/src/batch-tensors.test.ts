import * as tf from '@tensorflow/tfjs-core';
import { describeBackends } from '@dino-ts/core/testing';
import { expect, it } from 'vitest';
import { ShapesDataset, masksToTensor, toTensor } from './index';

describeBackends('toTensor', () => {
  const ds = new ShapesDataset({ length: 4, size: 8 });

  it('makes an NHWC float32 tensor in [0, 1] holding the batch, and nothing else', async () => {
    const batch = ds.getBatchSync([0, 1, 2]);
    const before = tf.memory().numTensors;
    const x = toTensor(batch);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.shape).toEqual([3, 8, 8, 3]);
    expect(x.dtype).toBe('float32');
    const data = await x.data();
    expect(Array.from(data)).toEqual(Array.from(batch.images));
    const item = ds.getSync(1).image;
    expect(data[64 * 3 + 5]).toBeCloseTo(item[5] / 255, 6);
    expect(Math.min(...data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...data)).toBeLessThanOrEqual(1);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const m = masksToTensor(batch);
    expect(m.shape).toEqual([3, 8, 8]);
    expect(Array.from(await m.data())).toEqual(Array.from(batch.masks!));
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a batch whose shape does not match its data', () => {
    const batch = ds.getBatchSync([0]);
    expect(() => toTensor({ images: batch.images, shape: [2, 8, 8, 3] })).toThrow(/images has 192 values but shape \[2, 8, 8, 3\] needs 384/);
    expect(() => masksToTensor({ shape: [1, 8, 8, 3] })).toThrow(/no masks/);
  });
});
