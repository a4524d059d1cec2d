// ResNet behaviour beyond torchvision parity: the Backbone contract, training on every backend,
// no leaks, errors.
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@dino-ts/core';
import { describeBackends, useBackend } from '@dino-ts/core/testing';
import { ResNet } from './resnet';
import { createBackbone } from './registry';

const small = { width: 4, smallInput: true } as const;

describeBackends('ResNet behaviour', () => {
  it('trains: every parameter gets a finite, non-zero gradient; running stats move, params() excludes them', async () => {
    const net = new ResNet({ ...small, seed: 2 });
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => {
      const { cls, patchTokens } = net.forwardFeatures(x, { training: true });
      return tf.add(tf.mean(tf.square(cls)), tf.mean(patchTokens)) as tf.Scalar;
    }, [...net.params().values()]);
    expect(Number.isFinite((await value.data())[0])).toBe(true);
    for (const [k, v] of net.params()) {
      const g = await grads[v.name]!.data();
      expect(g.every(Number.isFinite), `${k} finite`).toBe(true);
      expect(g.some((e) => e !== 0), `${k} non-zero`).toBe(true);
    }
    tf.dispose([value, grads]);
    for (const k of net.buffers().keys()) expect(net.params().has(k)).toBe(false);
    expect([...net.buffers().values()].every((v) => !v.trainable)).toBe(true);
    const rm = await net.buffers().get('layer1.0.bn1.running_mean')!.data();
    expect(rm.some((e) => e !== 0)).toBe(true);
    net.dispose();
  });

  it('leaks no tensors across eval, training and gradient calls', () => {
    const net = new ResNet({ width: 2 });
    const x = tf.randomNormal([2, 20, 12, 3]) as tf.Tensor4D;
    const run = () => {
      tf.dispose(net.forward(x));
      tf.dispose(net.forward(x, { training: true }));
      const f = net.forwardFeatures(x);
      tf.dispose([f.cls, f.patchTokens]);
      tf.dispose(net.getIntermediateLayers(x, 4));
      const { value, grads } = tf.variableGrads(
        () => tf.mean(net.forward(x, { training: true })) as tf.Scalar,
        [...net.params().values()],
      );
      tf.dispose([value, grads]);
    };
    run();
    const before = tf.memory().numTensors;
    run();
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });

  it('follows the Backbone contract: pooled feature, feature map, stage outputs', () => {
    const imagenetStem = new ResNet({ width: 1 });
    expect(imagenetStem.patchSize).toBe(32); // total stride 32
    imagenetStem.dispose();
    const net = new ResNet({ width: 4, smallInput: true });
    expect([net.embedDim, net.patchSize, net.inChans]).toEqual([32, 8, 3]);
    const x = tf.zeros([2, 16, 16, 3]) as tf.Tensor4D;
    expect(net.forward(x).shape).toEqual([2, 32]);
    const f = net.forwardFeatures(x);
    expect(f.cls.shape).toEqual([2, 32]);
    expect(f.patchTokens.shape).toEqual([2, 4, 32]);
    expect(net.getIntermediateLayers(x, 4).map((t) => t.shape)).toEqual([
      [2, 256, 4],
      [2, 64, 8],
      [2, 16, 16],
      [2, 4, 32],
    ]);
    net.dispose();
  });
});

describe('ResNet configuration and errors', () => {
  beforeAll(() => useBackend('cpu'));

  it('resnet18 has torchvision resnet18 parameter count at width 64 (without fc)', () => {
    const net = createBackbone('resnet18', { width: 64 });
    let n = 0;
    for (const v of net.params().values()) n += v.size;
    // torchvision resnet18: 11,689,512 parameters, of which fc holds 512 * 1000 + 1000.
    expect(n).toBe(11_689_512 - 513_000);
    expect(net.name).toBe('resnet18');
    net.dispose();
  });

  it('resnet34 has stages of 3, 4, 6, 3 blocks', () => {
    const net = createBackbone('resnet34', { width: 2, smallInput: true });
    const keys = [...net.params().keys()];
    for (const [stage, blocks] of [[1, 3], [2, 4], [3, 6], [4, 3]] as const) {
      expect(keys.some((k) => k.startsWith(`layer${stage}.${blocks - 1}.`))).toBe(true);
      expect(keys.some((k) => k.startsWith(`layer${stage}.${blocks}.`))).toBe(false);
    }
    net.dispose();
  });

  it('says it has no self-attention, and getLastSelfAttention throws a clear error', () => {
    const net = new ResNet(small);
    expect(net.hasSelfAttention).toBe(false);
    expect(() => net.getLastSelfAttention()).toThrow(/no self-attention/);
    net.dispose();
  });

  it('bad config -> ConfigError naming the parameter', () => {
    const cases: [object, string][] = [
      [{ width: 0 }, 'width'],
      [{ layers: [2, 2, 2] }, 'layers'],
      [{ layers: [2, 0, 2, 2] }, 'layers'],
      [{ inChans: 0 }, 'inChans'],
    ];
    for (const [cfg, param] of cases) {
      try {
        new ResNet(cfg).dispose();
        throw new Error(`no error for ${JSON.stringify(cfg)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).param).toBe(param);
      }
    }
    expect(() => createBackbone('resnet18', { layers: [1, 1, 1, 1] })).toThrow(ConfigError);
  });

  it('bad input -> ShapeError stating the shape; n outside [1, 4] -> ConfigError', () => {
    const net = new ResNet(small);
    const x3 = tf.zeros([8, 8, 3]) as unknown as tf.Tensor4D;
    const x1 = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    expect(() => net.forward(x3)).toThrow(ShapeError);
    expect(() => net.forward(x1)).toThrow('[1, 8, 8, 1]');
    expect(() => net.getIntermediateLayers(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D, 5)).toThrow(ConfigError);
    net.dispose();
  });
});
