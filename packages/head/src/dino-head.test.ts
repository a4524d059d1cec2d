import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { BatchNorm, ConfigError, Linear, ShapeError, loadParams, Rng } from '@dino-ts/core';
import { describeBackends, readFixture, fx, assertClose, assertRelClose } from '@dino-ts/core/testing';
import { DinoHead, DINO_HEAD_DEFAULTS, WeightNormLinear } from './index';

const fixture = readFixture(fileURLToPath(new URL('../fixtures/head.safetensors', import.meta.url)));
const CASES = Object.keys(fixture.metadata);

interface CaseMeta {
  in_dim: number; out_dim: number; use_bn: boolean; norm_last_layer: boolean;
  nlayers: number; hidden_dim: number; bottleneck_dim: number;
  trainable: string[]; params: string[]; buffers: string[];
}

function subset(prefix: string) {
  const out: Record<string, (typeof fixture.tensors)[string]> = {};
  for (const [k, v] of Object.entries(fixture.tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

function buildHead(name: string): { head: DinoHead; meta: CaseMeta } {
  const meta = JSON.parse(fixture.metadata[name]) as CaseMeta;
  const head = new DinoHead({
    inDim: meta.in_dim, outDim: meta.out_dim, useBn: meta.use_bn, normLastLayer: meta.norm_last_layer,
    nlayers: meta.nlayers, hiddenDim: meta.hidden_dim, bottleneckDim: meta.bottleneck_dim,
  });
  const init = subset(`${name}.init.`);
  const paramArrays = Object.fromEntries(Object.entries(init).filter(([k]) => head.params().has(k)));
  loadParams(head.params(), paramArrays, { source: name });
  const bufArrays = Object.fromEntries(Object.entries(init).filter(([k]) => head.buffers().has(k)));
  loadParams(head.buffers(), bufArrays, { strict: false, source: name });
  return { head, meta };
}

describeBackends('DinoHead vs reference DINOHead', () => {
  for (const name of CASES) {
    it(`${name}: names, outputs (train and eval), running stats and gradients`, () => {
      const { head, meta } = buildHead(name);
      expect([...head.params().keys()]).toEqual(meta.params);
      expect([...head.params()].filter(([, v]) => v.trainable).map(([k]) => k)).toEqual(meta.trainable);
      expect([...head.buffers().keys()]).toEqual(meta.buffers);

      const x = tf.tensor2d(fx(fixture.tensors, `${name}.x`), [6, meta.in_dim]);
      const r = tf.tensor2d(fx(fixture.tensors, `${name}.r`), [6, meta.out_dim]);
      const trainable = [...head.params()].filter(([, v]) => v.trainable);
      const { value, grads } = tf.variableGrads(() => {
        const out = head.apply(x, { training: true });
        assertClose(out.dataSync(), fx(fixture.tensors, `${name}.out_train`), 2e-5, `${name} out_train`);
        return tf.sum(tf.mul(out, r)) as tf.Scalar;
      }, trainable.map(([, v]) => v));
      value.dispose();
      for (const [k, v] of trainable) {
        const expected = fx(fixture.tensors, `${name}.grad.${k}`);
        // A Linear bias right before BatchNorm has an exactly zero gradient (BN removes the
        // mean); both sides hold rounding noise there, so compare absolutely.
        if (Math.hypot(...expected) < 1e-4) assertClose(grads[v.name].dataSync(), expected, 1e-4, `${name} grad ${k}`);
        else assertRelClose(grads[v.name].dataSync(), expected, 1e-4, `${name} grad ${k}`);
      }
      expect(Object.keys(grads).length).toBe(meta.trainable.length);
      for (const k of meta.buffers) {
        assertClose(head.buffers().get(k)!.dataSync(), fixture.tensors[`${name}.buffer.${k}`].data as ArrayLike<number>, 1e-5, `${name} ${k}`);
      }
      const outEval = head.apply(x, { training: false });
      assertClose(outEval.dataSync(), fx(fixture.tensors, `${name}.out_eval`), 2e-5, `${name} out_eval`);
      head.dispose();
    });
  }

  it('frees its temporaries', () => {
    const { head } = buildHead('bn_free_g');
    const x = tf.randomNormal([6, 12]) as tf.Tensor2D;
    head.apply(x, { training: true }).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      head.apply(x, { training: true }).dispose();
      head.apply(x).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    head.dispose();
  });

  it('rejects an input of the wrong width', () => {
    const head = new DinoHead({ inDim: 4, outDim: 3, hiddenDim: 5, bottleneckDim: 2 });
    expect(() => head.apply(tf.zeros([2, 5]) as tf.Tensor2D)).toThrow(ShapeError);
    head.dispose();
  });
});

it('uses the reference defaults and initialisation', () => {
  expect(DINO_HEAD_DEFAULTS).toMatchObject({ useBn: false, normLastLayer: true, nlayers: 3, hiddenDim: 2048, bottleneckDim: 256 });
  const head = new DinoHead({ inDim: 64, outDim: 300, hiddenDim: 256, bottleneckDim: 100 }, new Rng(1));
  const w0 = Array.from(head.params().get('mlp.0.weight')!.dataSync());
  const std = Math.sqrt(w0.reduce((a, b) => a + b * b, 0) / w0.length);
  expect(std).toBeGreaterThan(0.018);
  expect(std).toBeLessThan(0.022);
  expect(Math.max(...head.params().get('mlp.0.bias')!.dataSync())).toBe(0);
  const v = head.params().get('last_layer.weight_v')!.dataSync();
  const bound = 1 / Math.sqrt(100);
  expect(Math.max(...v)).toBeLessThanOrEqual(bound);
  expect(Math.max(...v)).toBeGreaterThan(0.9 * bound);
  expect(Math.min(...v)).toBeLessThan(-0.9 * bound);
  const g = head.params().get('last_layer.weight_g')!;
  expect(g.shape).toEqual([300, 1]);
  expect(g.trainable).toBe(false);
  expect(Math.min(...g.dataSync())).toBe(1);
  head.dispose();
  const free = new DinoHead({ inDim: 4, outDim: 3, hiddenDim: 5, bottleneckDim: 2, normLastLayer: false });
  expect(free.params().get('last_layer.weight_g')!.trainable).toBe(true);
  free.dispose();
});

it('validates its configuration, naming the parameter', () => {
  const base = { inDim: 4, outDim: 3 };
  const cases: Array<[string, object]> = [
    ['outDim', { outDim: 0 }],
    ['inDim', { inDim: -1 }],
    ['nlayers', { nlayers: 0 }],
    ['hiddenDim', { hiddenDim: 0 }],
    ['bottleneckDim', { bottleneckDim: 1.5 }],
  ];
  for (const [param, patch] of cases) {
    let err: unknown;
    try {
      new DinoHead({ ...base, ...patch });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).param).toBe(param);
  }
});

it("is a module tree as the reference's: mlp Sequential with @dino-ts/core's BatchNorm, last_layer", async () => {
  const head = new DinoHead({ inDim: 4, outDim: 3, hiddenDim: 5, bottleneckDim: 2, useBn: true });
  expect(head.mlp.namedChildren().map(([k, m]) => [k, m.constructor.name])).toEqual([
    ['0', 'Linear'], ['1', 'BatchNorm'], ['3', 'Linear'], ['4', 'BatchNorm'], ['6', 'Linear'],
  ]);
  const bns = head.namedModules().filter(([, m]) => m instanceof BatchNorm);
  expect(bns.map(([k]) => k)).toEqual(['mlp.1', 'mlp.4']);
  expect(bns.every(([, m]) => m.constructor === BatchNorm)).toBe(true);
  expect(head.mlp.namedChildren()[0]![1]).toBeInstanceOf(Linear);
  expect(head.lastLayer).toBeInstanceOf(WeightNormLinear);
  // train() makes training (batch statistics, running update) the default of apply.
  const x = tf.randomNormal([6, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
  const nbt = () => head.buffers().get('mlp.1.num_batches_tracked')!.dataSync()[0];
  head.apply(x).dispose();
  expect(nbt()).toBe(0);
  head.train();
  head.apply(x).dispose();
  expect(nbt()).toBe(1);
  head.apply(x, { training: false }).dispose();
  expect(nbt()).toBe(1);
  x.dispose();
  head.dispose();
  const single = new DinoHead({ inDim: 4, outDim: 3, nlayers: 1, bottleneckDim: 2 });
  expect([...single.params().keys()]).toEqual(['mlp.weight', 'mlp.bias', 'last_layer.weight_g', 'last_layer.weight_v']);
  single.dispose();
});
