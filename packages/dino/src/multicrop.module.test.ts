// MultiCropNetwork as a Module: children `backbone` and `head` give the reference's names, one
// BatchNorm class serves a convnet backbone and a BatchNorm head, train() reaches both, and a
// third-party backbone that is not a Module still composes.
import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { BatchNorm, isModule } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { ResNet, VisionTransformer, type Backbone } from '@dino-ts/backbones';
import { DinoHead } from '@dino-ts/head';
import { MultiCropNetwork } from './multicrop';

describeBackends('MultiCropNetwork module', () => {
  it('backbone and head BatchNorms are one class, named under backbone. / head., trained together', () => {
    const net = new MultiCropNetwork(
      new ResNet({ layers: [1, 1, 1, 1], width: 2, smallInput: true }),
      new DinoHead({ inDim: 16, outDim: 5, hiddenDim: 6, bottleneckDim: 3, useBn: true }),
    );
    expect(net.namedChildren().map(([k]) => k)).toEqual(['backbone', 'head']);
    const bns = net.namedModules().filter(([, m]) => m instanceof BatchNorm);
    const classes = new Set(bns.map(([, m]) => m.constructor));
    expect(classes).toEqual(new Set([BatchNorm]));
    expect(bns.some(([k]) => k.startsWith('backbone.'))).toBe(true);
    expect(bns.some(([k]) => k.startsWith('head.'))).toBe(true);
    const buffers = [...net.buffers().keys()];
    expect(buffers).toContain('backbone.bn1.running_mean');
    expect(buffers).toContain('head.mlp.1.num_batches_tracked');
    expect(buffers.indexOf('backbone.bn1.running_mean')).toBeLessThan(buffers.indexOf('head.mlp.1.running_mean'));
    expect([...net.params().keys()].some((k) => k.endsWith('running_mean'))).toBe(false);

    // train(): both parts default to training mode, so one apply advances every BatchNorm once.
    net.train();
    expect([(net.backbone as ResNet).training, net.head.training]).toEqual([true, true]);
    const crops = [tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D];
    net.apply(crops).dispose();
    const tracked = [...net.buffers()].filter(([k]) => k.endsWith('num_batches_tracked')).map(([, v]) => v.dataSync()[0]);
    expect(tracked.length).toBe(bns.length);
    expect(tracked.every((n) => n === 1)).toBe(true);
    net.eval();
    net.apply(crops).dispose();
    expect(net.buffers().get('head.mlp.1.num_batches_tracked')!.dataSync()[0]).toBe(1);
    tf.dispose(crops);
    net.dispose();
  });

  it('a third-party backbone (not a Module) composes: its names under backbone., dispose reaches it', () => {
    const vit = new VisionTransformer({ imgSize: 8, patchSize: 4, embedDim: 8, depth: 1, numHeads: 2 });
    let disposed = false;
    const foreign: Backbone = {
      name: 'foreign',
      embedDim: vit.embedDim,
      patchSize: vit.patchSize,
      inChans: vit.inChans,
      imgSize: vit.imgSize,
      depth: vit.depth,
      forward: (x, o) => vit.forward(x, o),
      forwardFeatures: (x, o) => vit.forwardFeatures(x, o),
      getIntermediateLayers: (x, n) => vit.getIntermediateLayers(x, n),
      getLastSelfAttention: (x) => vit.getLastSelfAttention(x),
      params: () => vit.params(),
      dispose: () => {
        disposed = true;
        vit.dispose();
      },
    };
    expect(isModule(foreign)).toBe(false);
    const head = new DinoHead({ inDim: 8, outDim: 5, hiddenDim: 6, bottleneckDim: 3 });
    const net = new MultiCropNetwork(foreign, head);
    expect(net.backbone).toBe(foreign);
    const names = [...net.params().keys()];
    expect(names.slice(0, vit.params().size)).toEqual([...vit.params().keys()].map((k) => `backbone.${k}`));
    expect(names).toContain('head.last_layer.weight_v');
    expect(net.buffers().size).toBe(0);
    const crops = [tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D];
    const out = net.apply(crops);
    expect(out.shape).toEqual([2, 5]);
    tf.dispose([out, ...crops]);
    net.dispose();
    expect(disposed).toBe(true);
  });
});
