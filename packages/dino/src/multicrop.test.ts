import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { ShapeError } from '@dino-ts/core';
import { describeBackends, assertClose } from '@dino-ts/core/testing';
import { VisionTransformer } from '@dino-ts/backbones';
import { DinoHead } from '@dino-ts/head';
import { MultiCropNetwork, groupCropsByResolution } from './multicrop';

// Only the shapes matter to the grouping.
const crop = (px: number, b = 2) => ({ shape: [b, px, px, 3] }) as unknown as tf.Tensor4D;

it('groups consecutive crops of equal resolution, as MultiCropWrapper', () => {
  expect(groupCropsByResolution([crop(8), crop(8), crop(4), crop(4), crop(4)])).toEqual([{ start: 0, end: 2 }, { start: 2, end: 5 }]);
  // Not consecutive: a new group each time the resolution changes (unique_consecutive).
  expect(groupCropsByResolution([crop(8), crop(4), crop(8)])).toEqual([{ start: 0, end: 1 }, { start: 1, end: 2 }, { start: 2, end: 3 }]);
  expect(groupCropsByResolution([])).toEqual([]);
});

describeBackends('MultiCropNetwork', () => {
  it('equals a separate backbone pass per crop, in crop order, with reference names', () => {
    const net = new MultiCropNetwork(
      new VisionTransformer({ imgSize: 8, patchSize: 4, embedDim: 8, depth: 1, numHeads: 2 }),
      new DinoHead({ inDim: 8, outDim: 5, hiddenDim: 6, bottleneckDim: 3 }),
    );
    const names = [...net.params().keys()];
    expect(names).toContain('backbone.pos_embed');
    expect(names).toContain('head.last_layer.weight_v');
    const crops = [8, 8, 4, 4, 4].map((px) => tf.randomNormal([2, px, px, 3]) as tf.Tensor4D);
    const before = tf.memory().numTensors;
    const out = net.apply(crops);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(out.shape).toEqual([10, 5]);
    const separate = tf.concat(crops.map((c) => net.head.apply(net.backbone.forward(c))));
    assertClose(out.dataSync(), separate.dataSync(), 1e-5, 'grouped vs separate');
    const sliced = net.apply(crops, { maxImagesPerPass: 3 });
    assertClose(sliced.dataSync(), out.dataSync(), 1e-5, 'sliced backbone passes');
    const wrong = new DinoHead({ inDim: 7, outDim: 5, hiddenDim: 6, bottleneckDim: 3 });
    expect(() => new MultiCropNetwork(net.backbone, wrong)).toThrow(ShapeError);
    wrong.dispose();
    net.dispose();
  });
});
