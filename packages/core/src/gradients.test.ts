import * as tf from '@tensorflow/tfjs-core';
import { it, expect, beforeAll, afterAll } from 'vitest';
import { GRADIENTS, GRADIENT_KERNELS, registerGradients } from './gradients';
import { describeBackends } from './testing';
import { Rng } from './rng';

// Each dino-ts gradient against tfjs's own (its registration file loads under vitest): the same
// function differentiated once with each, every other kernel's gradient left as tfjs's.
const theirs = new Map<string, tf.GradConfig>();

beforeAll(async () => {
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  for (const k of GRADIENT_KERNELS) theirs.set(k, tf.getGradient(k));
});

afterAll(() => {
  // Leave the registry as dino-ts has it for whatever runs next in this process.
  for (const k of GRADIENT_KERNELS) tf.unregisterGradient(k);
  registerGradients();
});

function use(config: tf.GradConfig): void {
  if (tf.getGradient(config.kernelName) != null) tf.unregisterGradient(config.kernelName);
  tf.registerGradient(config);
}

interface Case {
  kernel: string;
  name?: string;
  inputs: () => tf.Tensor[];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
  /**
   * The same function written with kernels whose tfjs gradients are right, for the cases where
   * tfjs's own gradient of `kernel` is wrong (it does not sum broadcast axes back for
   * SquaredDifference, Maximum, Minimum and batch-broadcast BatchMatMul).
   */
  ref?: (...xs: tf.Tensor[]) => tf.Tensor;
  backends?: string[];
}

const rng = new Rng(7);
const rand = (shape: number[], lo = -2, hi = 2): tf.Tensor =>
  tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rng.uniform()), shape);
const pos = (shape: number[]): tf.Tensor => rand(shape, 0.3, 2);
const bin = (kernel: string, f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, p = rand, broken = false): Case[] => {
  // With `broken`, the broadcast cases' reference broadcasts first (BroadcastTo's tfjs gradient).
  const viaBroadcast = (shape: number[]) => (a: tf.Tensor, b: tf.Tensor) => f(tf.broadcastTo(a, shape), tf.broadcastTo(b, shape));
  return [
    { kernel, name: `${kernel} same shape`, inputs: () => [p([2, 3]), p([2, 3])], f },
    { kernel, name: `${kernel} broadcast`, inputs: () => [p([2, 3, 4]), p([3, 1])], f, ref: broken ? viaBroadcast([2, 3, 4]) : undefined },
    { kernel, name: `${kernel} scalar`, inputs: () => [p([1]), p([2, 4])], f, ref: broken ? viaBroadcast([2, 4]) : undefined },
  ];
};
const un = (kernel: string, f: (x: tf.Tensor) => tf.Tensor, p = rand, shape = [3, 4]): Case => ({ kernel, inputs: () => [p(shape)], f });

const CASES: Case[] = [
  ...bin('Add', tf.add),
  ...bin('Sub', tf.sub),
  ...bin('Multiply', tf.mul),
  ...bin('RealDiv', tf.div, pos),
  ...bin('SquaredDifference', tf.squaredDifference, rand, true),
  ...bin('Maximum', tf.maximum, rand, true),
  ...bin('Minimum', tf.minimum, rand, true),
  ...bin('Pow', tf.pow, pos),
  { kernel: 'AddN', inputs: () => [rand([2, 3]), rand([2, 3]), rand([2, 3])], f: (...xs) => tf.addN(xs) },
  un('Neg', tf.neg),
  un('Identity', (x) => tf.clone(x)),
  un('Cast', (x) => tf.cast(x, 'float32')),
  un('Abs', tf.abs),
  un('Square', tf.square),
  un('Sqrt', tf.sqrt, pos),
  un('Rsqrt', tf.rsqrt, pos),
  un('Exp', tf.exp),
  un('Log', tf.log, pos),
  un('Log1p', tf.log1p, pos),
  un('Sin', tf.sin),
  un('Cos', tf.cos),
  un('Erf', tf.erf),
  un('Tanh', tf.tanh),
  un('Sigmoid', tf.sigmoid),
  un('Softplus', tf.softplus),
  un('Relu', tf.relu),
  un('Relu6', tf.relu6, (s) => rand(s, -3, 9)),
  un('LeakyRelu', (x) => tf.leakyRelu(x, 0.1)),
  un('Elu', tf.elu),
  un('ClipByValue', (x) => tf.clipByValue(x, -0.5, 1)),
  un('Softmax', (x) => tf.softmax(x), rand, [2, 3, 5]),
  {
    kernel: 'Select',
    inputs: () => [rand([2, 3]), rand([2, 3])],
    // A constant condition: comparisons have no gradient, so it must not depend on the inputs.
    f: (t, e) => tf.where(tf.tensor2d([[true, false, true], [false, false, true]]), t, e),
  },
  un('Sum', (x) => tf.sum(x, 1), rand, [2, 3, 4]),
  { ...un('Sum', (x) => tf.sum(x), rand, [2, 3]), name: 'Sum all' },
  un('Mean', (x) => tf.mean(x, [0, 2], true), rand, [2, 3, 4]),
  { ...un('Mean', (x) => tf.mean(x, -1), rand, [2, 3, 4]), name: 'Mean last axis' },
  un('Max', (x) => tf.max(x, 1), rand, [3, 5]),
  un('Min', (x) => tf.min(x, [0, 1]), rand, [3, 5, 2]),
  un('Reshape', (x) => tf.reshape(x, [4, 3]), rand, [2, 6]),
  un('Transpose', (x) => tf.transpose(x, [2, 0, 1]), rand, [2, 3, 4]),
  un('BroadcastTo', (x) => tf.broadcastTo(x, [2, 3, 4]), rand, [1, 3, 1]),
  un('Tile', (x) => tf.tile(x, [2, 1, 3]), rand, [2, 3, 2]),
  un('Slice', (x) => tf.slice(x, [1, 0, 1], [1, -1, 2]), rand, [3, 4, 5]),
  un('PadV2', (x) => tf.pad(x, [[1, 0], [0, 2], [1, 1]], 0.5), rand, [2, 3, 2]),
  { kernel: 'Concat', inputs: () => [rand([2, 1, 3]), rand([2, 4, 3]), rand([2, 2, 3])], f: (...xs) => tf.concat(xs, 1) },
  // Only two of the three pieces reach the loss: the third's dy is the engine's zeros.
  un('SplitV', (x) => { const [a, , c] = tf.split(x, [1, 3, 2], 1); return tf.concat([a, c], 1); }, rand, [2, 6]),
  { kernel: 'Pack', inputs: () => [rand([2, 3]), rand([2, 3])], f: (a, b) => tf.stack([a, b], 1) },
  un('Unpack', (x) => { const parts = tf.unstack(x, 1); return tf.add(parts[0], tf.mul(parts[2], 3)); }, rand, [2, 3, 4]),
  // tfjs-backend-wasm has no UnsortedSegmentSum, the gather gradient's kernel.
  { ...un('GatherV2', (x) => tf.gather(x, tf.tensor1d([2, 0, 2, 1], 'int32'), 1), rand, [2, 3, 4]), backends: ['cpu'] },
  ...[[false, false], [false, true], [true, false], [true, true]].flatMap(([ta, tb]): Case[] => [
    { kernel: 'BatchMatMul', name: `BatchMatMul ${ta} ${tb}`, inputs: () => [rand(ta ? [2, 4, 3] : [2, 3, 4]), rand(tb ? [2, 5, 4] : [2, 4, 5])], f: (a, b) => tf.matMul(a, b, ta, tb) },
    {
      kernel: 'BatchMatMul',
      name: `BatchMatMul ${ta} ${tb} broadcast`,
      inputs: () => [rand(ta ? [2, 4, 3] : [2, 3, 4]), rand(tb ? [5, 4] : [4, 5])],
      f: (a, b) => tf.matMul(a, b, ta, tb),
      ref: (a, b) => tf.matMul(a, tf.stack([b, b]), ta, tb),
    },
  ]),
  // tfjs-backend-wasm has no Conv2DBackpropFilter; the ResNet patchifies on it instead.
  { kernel: 'Conv2D', inputs: () => [rand([2, 6, 6, 3]), rand([3, 3, 3, 4])], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), backends: ['cpu'] },
  { kernel: 'Conv2D', name: 'Conv2D valid', inputs: () => [rand([1, 5, 5, 2]), rand([2, 2, 2, 3])], f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'), backends: ['cpu'] },
  un('MaxPool', (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), rand, [2, 6, 6, 3]),
  un('AvgPool', (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), rand, [2, 6, 6, 3]),
  {
    kernel: 'FusedBatchNorm',
    inputs: () => [rand([2, 3, 3, 4]), rand([4]), pos([4]), rand([4]), rand([4])],
    f: (x, mean, variance, offset, scale) => tf.batchNorm(x, mean, variance, offset, scale, 1e-3),
  },
];

it('every gradient dino-ts registers has a test case', () => {
  expect([...new Set(CASES.map((c) => c.kernel))].sort()).toEqual([...GRADIENT_KERNELS].sort());
  expect(new Set(GRADIENT_KERNELS).size).toBe(GRADIENTS.length);
});

describeBackends('dino-ts gradients equal tfjs gradients', (backend) => {
  for (const c of CASES) {
    if (c.backends && !c.backends.includes(backend)) continue;
    it(c.name ?? c.kernel, async () => {
      const ours = GRADIENTS.find((g) => g.kernelName === c.kernel)!;
      const inputs = c.inputs();
      // A random weighting of the output makes dy non-uniform, so every term of J^T dy counts.
      const out = c.f(...inputs);
      const w = rand(out.shape);
      const loss = (fn: (...xs: tf.Tensor[]) => tf.Tensor) => (...xs: tf.Tensor[]) => tf.sum(tf.mul(fn(...xs), w)) as tf.Scalar;
      const run = async (config: tf.GradConfig, fn = c.f): Promise<Float32Array[]> => {
        use(config);
        const gs = tf.grads(loss(fn))(inputs);
        const values = await Promise.all(gs.map((g) => g.data() as Promise<Float32Array>));
        expect(gs.map((g) => g.shape)).toEqual(inputs.map((x) => x.shape));
        tf.dispose(gs);
        return values;
      };
      const expected = await run(theirs.get(c.kernel)!, c.ref ?? c.f);
      const actual = await run(ours);
      use(ours);
      for (let i = 0; i < inputs.length; i++) {
        const e = expected[i];
        const a = actual[i];
        // The same value from the same formula up to float rounding; an error of a dropped term,
        // a wrong sign or a broadcast summed over the wrong axis is O(1).
        const scale = Math.max(1, ...Array.from(e, Math.abs));
        const worst = Math.max(0, ...Array.from(a, (v, j) => Math.abs(v - e[j])));
        expect(worst / scale, `input ${i}`).toBeLessThan(1e-5);
        expect(Array.from(a).some((v) => v !== 0) || Array.from(e).every((v) => v === 0), `input ${i} all zero`).toBe(true);
      }
      tf.dispose([...inputs, out, w]);
    });
  }
});
