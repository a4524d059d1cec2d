// The module base: PyTorch's naming and ordering rules, mode propagation, dispose, adapters.
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from './testing';
import { ConfigError } from './errors';
import { Module, ModuleList, asModule, isModule } from './module';
import { LayerNorm, Linear } from './layers';
import { BatchNorm } from './batch-norm';
import { Rng } from './rng';
import { layerNorm, linear } from './nn';
import { variable, zerosVariable, type Params } from './params';

/** A module that registers a child before its own parameter: PyTorch still lists its own first. */
class Net extends Module {
  readonly body: ModuleList<Linear>;
  readonly bn: BatchNorm;
  readonly scale: tf.Variable;

  constructor() {
    super();
    const rng = new Rng(0);
    this.body = this.registerModule('body', new ModuleList([new Linear(3, 4, { rng }), new Linear(4, 2, { rng, bias: false })]));
    this.bn = this.registerModule('bn', new BatchNorm(2));
    this.scale = this.registerParameter('scale', zerosVariable('scale', [1]));
  }
}

describe('Module', () => {
  beforeAll(() => useBackend('cpu'));

  it("names parameters by the module tree, in PyTorch's order (own first, then children)", () => {
    const net = new Net();
    expect([...net.params().keys()]).toEqual(['scale', 'body.0.weight', 'body.0.bias', 'body.1.weight', 'bn.weight', 'bn.bias']);
    expect([...net.buffers().keys()]).toEqual(['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    // state_dict: a module's parameters, then its buffers, then its children's.
    expect([...net.stateDict().keys()]).toEqual([
      'scale',
      'body.0.weight',
      'body.0.bias',
      'body.1.weight',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
    ]);
    expect(net.params().get('body.0.weight')).toBe(net.body.get(0).weight);
    expect(net.namedChildren().map(([k]) => k)).toEqual(['body', 'bn']);
    expect(net.namedModules().map(([k]) => k)).toEqual(['', 'body', 'body.0', 'body.1', 'bn']);
    expect(net.children()).toEqual([net.body, net.bn]);
    net.dispose();
  });

  it('propagates train / eval to every descendant; starts in eval mode', () => {
    const net = new Net();
    const modes = () => net.namedModules().map(([, m]) => m.training);
    expect(modes().every((t) => !t)).toBe(true);
    expect(net.train()).toBe(net);
    expect(modes().every((t) => t)).toBe(true);
    net.body.eval();
    expect([net.training, net.body.training, net.body.get(1).training, net.bn.training]).toEqual([true, false, false, true]);
    net.train(false);
    expect(modes().every((t) => !t)).toBe(true);
    net.dispose();
  });

  it('dispose frees every parameter and buffer of the tree', () => {
    const before = tf.memory().numTensors;
    const net = new Net();
    expect(tf.memory().numTensors).toBe(before + net.stateDict().size);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects dotted, empty and duplicate names, trainable buffers and non-modules', () => {
    const m = new Module();
    const v = () => variable('v', tf.zeros([1]), false);
    m.registerBuffer('b', v());
    for (const bad of ['', 'a.b', 'b']) expect(() => m.registerParameter(bad, v())).toThrow(ConfigError);
    expect(() => m.registerModule('b', new Module())).toThrow(/unique/);
    expect(() => m.registerBuffer('t', variable('t', tf.zeros([1])))).toThrow(/non-trainable/);
    expect(() => m.registerModule('x', {} as Module)).toThrow(ConfigError);
    expect(() => new ModuleList().get(0)).toThrow(ConfigError);
    m.dispose();
  });

  it('asModule wraps a plain HasParams: its names under the parent prefix, mode and dispose forwarded', () => {
    const params: Params = new Map([['blocks.0.w', variable('w', tf.ones([2]))]]);
    const buffers: Params = new Map([['stat', variable('s', tf.zeros([2]), false)]]);
    const calls: string[] = [];
    const foreign = {
      params: () => params,
      buffers: () => buffers,
      train: (mode: boolean) => calls.push(`train ${mode}`),
      dispose: () => {
        calls.push('dispose');
        tf.dispose([...params.values(), ...buffers.values()]);
      },
    };
    const parent = new Module();
    const wrapped = parent.registerModule('backbone', asModule(foreign));
    expect(isModule(wrapped)).toBe(true);
    expect(isModule(foreign)).toBe(false);
    expect(asModule(wrapped)).toBe(wrapped);
    expect([...parent.params().keys()]).toEqual(['backbone.blocks.0.w']);
    expect([...parent.buffers().keys()]).toEqual(['backbone.stat']);
    parent.train();
    parent.dispose();
    expect(calls).toEqual(['train true', 'dispose']);
    // Without buffers or dispose: no buffers, and dispose frees the parameters itself.
    const w = variable('w2', tf.ones([1]));
    const bare = asModule({ params: () => new Map([['w', w]]) });
    expect(bare.buffers().size).toBe(0);
    bare.dispose();
    expect(w.isDisposed).toBe(true);
  });
});

describe('Linear and LayerNorm modules', () => {
  beforeAll(() => useBackend('cpu'));

  it('compute what the functions compute, with PyTorch layouts and the trunc-normal init', async () => {
    const fc = new Linear(5, 3, { rng: new Rng(1) });
    expect(fc.weight.shape).toEqual([3, 5]);
    expect([...fc.params().keys()]).toEqual(['weight', 'bias']);
    expect(Math.max(...(await fc.weight.data()).map(Math.abs))).toBeLessThanOrEqual(0.04); // truncated at 2 std
    const norm = new LayerNorm(3, { eps: 1e-6 });
    const x = tf.randomNormal([2, 4, 5], 0, 1, 'float32', 3);
    const y = norm.forward(fc.forward(x));
    const expected = layerNorm(linear(x, fc.weight, fc.bias), norm.weight, norm.bias, 1e-6);
    expect(Array.from(await y.data())).toEqual(Array.from(await expected.data()));
    tf.dispose([x, y, expected]);
    fc.dispose();
    norm.dispose();
  });
});
