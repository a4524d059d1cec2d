import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ConfigError, ShapeError, variable, type Params } from '@dino-ts/core';
import { describeBackends, readFixture, fx, assertClose } from '@dino-ts/core/testing';
import { AdamW, paramGroups } from './adamw';
import { clipGradients, cancelGradientsLastLayer } from './clip';
import { emaUpdate } from './ema';
import type { Grads } from './grads';

const { tensors, metadata } = readFixture(fileURLToPath(new URL('../fixtures/optim.safetensors', import.meta.url)));
const NAMES = ['a.weight', 'a.bias', 'norm.weight', 'norm.bias', 'last_layer.weight'];

function paramsFrom(prefix: string): Params {
  const p: Params = new Map();
  for (const n of NAMES) {
    const a = tensors[`${prefix}.${n}`];
    p.set(n, variable(n, tf.tensor(a.data as Float32Array, a.shape)));
  }
  return p;
}

function gradsFrom(prefix: string, names = NAMES): Grads {
  return new Map(names.map((n) => [n, tf.tensor(fx(tensors, `${prefix}.${n}`), tensors[`${prefix}.${n}`].shape)]));
}

describeBackends('AdamW, clipping, EMA vs the reference', () => {
  it('AdamW equals torch.optim.AdamW with the reference parameter groups over 3 steps', async () => {
    const params = paramsFrom('adamw.init');
    const opt = new AdamW(params);
    expect(opt.groups).toEqual({ regularized: ['a.weight', 'last_layer.weight'], notRegularized: ['a.bias', 'norm.weight', 'norm.bias'] });
    const lrs: number[] = JSON.parse(metadata.lrs);
    const wds: number[] = JSON.parse(metadata.wds);
    for (let step = 0; step < 3; step++) {
      const grads = gradsFrom(`adamw.step${step}.grad`);
      cancelGradientsLastLayer(step === 0 ? 0 : 1, grads, 1);
      opt.step(grads, { lr: lrs[step], weightDecay: wds[step] });
      for (const g of grads.values()) g.dispose();
      for (const n of NAMES) {
        assertClose(params.get(n)!.dataSync(), fx(tensors, `adamw.step${step}.param.${n}`), 2e-6, `step ${step} ${n}`);
      }
    }
    // The frozen layer's state started one step later, as PyTorch's lazily created state.
    expect(opt.stepCount('last_layer.weight')).toBe(2);
    expect(opt.stepCount('a.weight')).toBe(3);
    const state = await opt.getState();
    for (const n of NAMES) {
      for (const k of ['exp_avg', 'exp_avg_sq', 'step']) {
        assertClose(state[`${n}.${k}`].data as Float32Array, fx(tensors, `adamw.state.${n}.${k}`), 1e-6, `${n}.${k}`);
      }
    }
    // Round trip: a fresh optimizer loaded with the state continues identically.
    const copy = paramsFrom('adamw.init');
    for (const n of NAMES) copy.get(n)!.assign(params.get(n)!);
    const opt2 = new AdamW(copy);
    opt2.loadState(state);
    const grads = gradsFrom('adamw.step1.grad');
    opt.step(grads, { lr: 0.01, weightDecay: 0.1 });
    opt2.step(grads, { lr: 0.01, weightDecay: 0.1 });
    for (const n of NAMES) assertClose(copy.get(n)!.dataSync(), params.get(n)!.dataSync(), 0, `resumed ${n}`);
    expect(() => opt2.loadState({ 'nope.exp_avg': state['a.weight.exp_avg'] })).toThrow(ShapeError);
    opt.dispose();
    opt2.dispose();
  });

  it('AdamW frees its temporaries', () => {
    const params = paramsFrom('adamw.init');
    const opt = new AdamW(params);
    const grads = gradsFrom('adamw.step1.grad');
    opt.step(grads, { lr: 0.01, weightDecay: 0.1 });
    const before = tf.memory().numTensors;
    opt.step(grads, { lr: 0.01, weightDecay: 0.1 });
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
  });

  it('clipGradients equals utils.clip_gradients', () => {
    const grads = gradsFrom('clip.grad');
    const norms = clipGradients(grads, Number(metadata.clip));
    assertClose([...norms.values()], fx(tensors, 'clip.norms'), 1e-5, 'norms');
    for (const n of NAMES) assertClose(grads.get(n)!.dataSync(), fx(tensors, `clip.clipped.${n}`), 1e-6, `clipped ${n}`);
    const before = tf.memory().numTensors;
    clipGradients(grads, 0.1);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => clipGradients(grads, 0)).toThrow(ConfigError);
  });

  it('cancelGradientsLastLayer drops last_layer gradients before freezeLastLayer only', () => {
    const grads = gradsFrom('clip.grad');
    cancelGradientsLastLayer(1, grads, 1);
    expect(grads.has('last_layer.weight')).toBe(true);
    const before = tf.memory().numTensors;
    cancelGradientsLastLayer(0, grads, 1);
    expect(grads.has('last_layer.weight')).toBe(false);
    expect(grads.size).toBe(NAMES.length - 1);
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  it('emaUpdate equals the reference teacher update', () => {
    const teacher = paramsFrom('ema.teacher');
    const student = paramsFrom('ema.student');
    const before = tf.memory().numTensors;
    emaUpdate(teacher, student, Number(metadata.momentum));
    expect(tf.memory().numTensors).toBe(before);
    for (const n of NAMES) assertClose(teacher.get(n)!.dataSync(), fx(tensors, `ema.after.${n}`), 1e-7, `ema ${n}`);
    student.delete('a.bias');
    expect(() => emaUpdate(teacher, student, 0.9)).toThrow(/a\.bias/);
    expect(() => emaUpdate(teacher, teacher, 1.1)).toThrow(ConfigError);
  });
});

it('paramGroups skips frozen parameters and puts biases and 1-D tensors in the no-decay group', () => {
  const p: Params = new Map([
    ['w', variable('w', tf.zeros([2, 2]))],
    ['x.bias', variable('x.bias', tf.zeros([2, 2]))],
    ['g', variable('g', tf.ones([2]))],
    ['frozen', variable('frozen', tf.ones([2, 1]), false)],
  ]);
  expect(paramGroups(p)).toEqual({ regularized: ['w'], notRegularized: ['x.bias', 'g'] });
  for (const v of p.values()) v.dispose();
});
