/**
 * Gradient functions for the kernels a DINO training step (and the networks people swap in)
 * records, registered on the application's own `@tensorflow/tfjs-core`.
 *
 * Why dino-ts has its own: tfjs-core registers no gradients by itself, in Node or in a bundler
 * (only the union package `@tensorflow/tfjs` does), and its registration file cannot be loaded
 * by Node's resolver. Bundling that file into a package bundles tfjs-core's engine and Tensor
 * class with it: a second tfjs-core that, loaded first, owns the global engine and breaks every
 * op. These functions use nothing but tfjs-core's public API, through the one copy the
 * application installed, so the gradients land in its registry whatever the import order, ESM
 * or CJS, Node or browser.
 *
 * A kernel that already has a gradient (the union package loaded, or the user's own) keeps it:
 * registration only fills what is missing. Each function is tested against tfjs's own in
 * gradients.test.ts, and the whole training step against the PyTorch reference.
 */
import * as tf from '@tensorflow/tfjs-core';

type Grad = tf.GradConfig;
type Attrs = Record<string, unknown>;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Sums `dy` back to `shape` over the axes that broadcasting expanded (leading axes, and axes
 * where `shape` has 1). Always a new tensor: the engine accumulates and disposes gradients per
 * input, so two inputs must never share one tensor object.
 */
function unbroadcast(dy: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (sameShape(dy.shape, shape)) return tf.reshape(dy, shape as number[]);
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape as number[]);
}

/** Reduction axes as non-negative indices; `null`/`undefined` means every axis. */
function reductionAxes(axis: unknown, rank: number): number[] {
  if (axis == null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** The shape of a reduction's output with the reduced axes kept as 1s. */
function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Gradients of a kernel whose inputs are a list: the engine names them '0', '1', ... */
function indexed(grads: tf.Tensor[]): Record<string, () => tf.Tensor> {
  return Object.fromEntries(grads.map((g, i) => [String(i), () => g]));
}

const f32 = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
const mask = (t: tf.Tensor): tf.Tensor => tf.cast(t, 'float32');

/** A gradient of one input `x` from dy and the saved tensors. */
function unary(kernelName: string, fn: (dy: tf.Tensor, saved: tf.Tensor[], attrs: Attrs) => tf.Tensor, save: Partial<Grad> = { inputsToSave: ['x'] }): Grad {
  return { kernelName, ...save, gradFunc: (dy, saved, attrs) => ({ x: () => fn(dy as tf.Tensor, saved, attrs as Attrs) }) };
}

/** A gradient of the binary inputs `a` and `b`, each summed back over broadcast axes. */
function binary(kernelName: string, da: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor, db: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor): Grad {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      return {
        a: () => unbroadcast(da(dy as tf.Tensor, a, b), a.shape),
        b: () => unbroadcast(db(dy as tf.Tensor, a, b), b.shape),
      };
    },
  };
}

/** Max and Min: dy flows to every element equal to the extreme (as PyTorch's amax). */
function extremeGrad(kernelName: string): Grad {
  return {
    kernelName,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved;
      // Max names its axes `reductionIndices`, Min names them `axis`.
      const { reductionIndices, axis } = attrs as Attrs;
      const kept = keptShape(x.shape, reductionAxes(reductionIndices ?? axis, x.rank));
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, kept), mask(tf.equal(x, tf.reshape(y, kept)))) };
    },
  };
}

function poolGrad(kernelName: 'MaxPool' | 'AvgPool'): Grad {
  return {
    kernelName,
    inputsToSave: ['x'],
    outputsToSave: [kernelName === 'MaxPool'],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved;
      const { filterSize, strides, pad, dimRoundingMode } = attrs as Attrs;
      const poolAttrs = { filterSize, strides, pad, dimRoundingMode } as unknown as tf.NamedAttrMap;
      // The backends implement pooling's backward pass as kernels of their own.
      const grad = (): tf.Tensor =>
        kernelName === 'MaxPool'
          ? (tf.engine().runKernel('MaxPoolGrad', { dy: dy as tf.Tensor, input: x, output: y }, poolAttrs) as tf.Tensor)
          : (tf.engine().runKernel('AvgPoolGrad', { dy: dy as tf.Tensor, input: x }, poolAttrs) as tf.Tensor);
      return { x: grad };
    },
  };
}

/** The gradient functions dino-ts registers, one per kernel. */
export const GRADIENTS: readonly Grad[] = [
  // Element-wise arithmetic.
  binary('Add', (dy) => dy, (dy) => dy),
  binary('Sub', (dy) => dy, (dy) => tf.neg(dy)),
  binary('Multiply', (dy, _a, b) => tf.mul(dy, f32(b)), (dy, a) => tf.mul(dy, f32(a))),
  binary('RealDiv', (dy, _a, b) => tf.div(dy, f32(b)), (dy, a, b) => tf.neg(tf.div(tf.mul(dy, f32(a)), tf.square(f32(b))))),
  binary('SquaredDifference', (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(a, b), 2)), (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(b, a), 2))),
  // Ties go to `a`, as tfjs's own gradient does.
  binary('Maximum', (dy, a, b) => tf.mul(dy, mask(tf.greaterEqual(a, b))), (dy, a, b) => tf.mul(dy, mask(tf.less(a, b)))),
  binary('Minimum', (dy, a, b) => tf.mul(dy, mask(tf.lessEqual(a, b))), (dy, a, b) => tf.mul(dy, mask(tf.greater(a, b)))),
  {
    kernelName: 'Pow',
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [a, b, y] = saved;
      const g = dy as tf.Tensor;
      return {
        a: () => unbroadcast(tf.mul(g, tf.mul(f32(b), tf.pow(a, tf.sub(f32(b), 1)))), a.shape),
        // d(a^b)/db = a^b ln a, defined for a > 0 (0 elsewhere, as tfjs and PyTorch's real pow).
        b: () => unbroadcast(tf.mul(g, tf.mul(y, tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a)))), b.shape),
      };
    },
  },
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved) => indexed(saved.map(() => tf.clone(dy as tf.Tensor))),
  },
  unary('Neg', (dy) => tf.neg(dy), {}),
  unary('Identity', (dy) => tf.clone(dy), {}),
  unary('Cast', (dy) => tf.clone(dy), {}),
  unary('Abs', (dy, [x]) => tf.mul(dy, tf.sign(f32(x)))),
  unary('Square', (dy, [x]) => tf.mul(dy, tf.mul(f32(x), 2))),
  unary('Sqrt', (dy, [x]) => tf.div(dy, tf.mul(tf.sqrt(f32(x)), 2))),
  unary('Rsqrt', (dy, [x]) => tf.neg(tf.div(dy, tf.mul(tf.pow(f32(x), 1.5), 2)))),
  unary('Exp', (dy, [y]) => tf.mul(dy, y), { outputsToSave: [true] }),
  unary('Log', (dy, [x]) => tf.div(dy, f32(x))),
  unary('Log1p', (dy, [x]) => tf.div(dy, tf.add(f32(x), 1))),
  unary('Sin', (dy, [x]) => tf.mul(dy, tf.cos(f32(x)))),
  unary('Cos', (dy, [x]) => tf.mul(dy, tf.neg(tf.sin(f32(x))))),
  // erf'(x) = 2/√π exp(-x²): the exact GELU of the ViT MLP goes through it.
  unary('Erf', (dy, [x]) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))),
  unary('Tanh', (dy, [y]) => tf.mul(dy, tf.sub(1, tf.square(y))), { outputsToSave: [true] }),
  unary('Sigmoid', (dy, [y]) => tf.mul(dy, tf.mul(y, tf.sub(1, y))), { outputsToSave: [true] }),
  unary('Softplus', (dy, [x]) => tf.mul(dy, tf.sigmoid(x))),
  unary('Relu', (dy, [x]) => tf.mul(dy, mask(tf.greater(x, 0)))),
  unary('Relu6', (dy, [x]) => tf.mul(dy, mask(tf.logicalAnd(tf.greater(x, 0), tf.lessEqual(x, 6))))),
  unary('LeakyRelu', (dy, [x], { alpha }) => tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha as number))),
  unary('Elu', (dy, [y]) => tf.engine().runKernel('EluGrad', { dy, y }) as tf.Tensor, { outputsToSave: [true] }),
  unary('ClipByValue', (dy, [x], { clipValueMin, clipValueMax }) =>
    tf.where(tf.logicalAnd(tf.greaterEqual(x, clipValueMin as number), tf.lessEqual(x, clipValueMax as number)), dy, tf.zerosLike(dy))),
  {
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dim = (attrs as Attrs).dim as number;
      // J^T dy for y = softmax(x): y * (dy - sum(dy * y)).
      const dyy = tf.mul(dy as tf.Tensor, y);
      return { logits: () => tf.sub(dyy, tf.mul(tf.sum(dyy, [dim], true), y)) };
    },
  },
  {
    kernelName: 'Select',
    inputsToSave: ['condition'],
    gradFunc: (dy, [condition]) => {
      const g = dy as tf.Tensor;
      return {
        condition: () => tf.cast(tf.zerosLike(condition), 'float32'),
        t: () => tf.mul(g, mask(condition)),
        e: () => tf.mul(g, mask(tf.logicalNot(condition))),
      };
    },
  },
  // Reductions.
  // dy spread back over the reduced axes by a multiplication with ones, not tf.broadcastTo: that
  // runs the Tile kernel, which the dino-ts wasm kernels do not replace (measured: the shapes
  // preset's training fell from 81 to 47 img/s with it).
  unary('Sum', (dy, [x], { axis }) => tf.mul(tf.reshape(dy, keptShape(x.shape, reductionAxes(axis, x.rank))), tf.ones(x.shape))),
  unary('Mean', (dy, [x], { axis }) => {
    const axes = reductionAxes(axis, x.rank);
    const n = axes.reduce((p, a) => p * x.shape[a], 1);
    return tf.mul(tf.reshape(tf.div(dy, n), keptShape(x.shape, axes)), tf.ones(x.shape));
  }),
  extremeGrad('Max'),
  extremeGrad('Min'),
  // Shapes and layout.
  unary('Reshape', (dy, [x]) => tf.reshape(dy, x.shape)),
  unary('Transpose', (dy, _s, { perm }) => {
    const p = perm as number[];
    const inverse = new Array<number>(p.length);
    p.forEach((axis, i) => (inverse[axis] = i));
    return tf.transpose(dy, inverse);
  }, {}),
  unary('BroadcastTo', (dy, _s, { inputShape }) => unbroadcast(dy, inputShape as number[]), {}),
  unary('Tile', (dy, [x], { reps }) => {
    // Tiled axis i of size r·s is read as [r, s]; each copy's gradient is summed.
    const r = reps as number[];
    const split = x.shape.flatMap((s, i) => [r[i], s]);
    return tf.reshape(tf.sum(tf.reshape(dy, split), r.map((_, i) => 2 * i)), x.shape);
  }),
  unary('Slice', (dy, [x], { begin }) => {
    const b = typeof begin === 'number' ? [begin] : [...(begin as number[])];
    while (b.length < x.rank) b.push(0);
    // dy has the slice's shape (its size with -1 resolved), so the padding follows from it.
    return tf.pad(dy, dy.shape.map((s, i) => [b[i], x.shape[i] - b[i] - s] as [number, number]));
  }),
  unary('PadV2', (dy, [x], { paddings }) => tf.slice(dy, (paddings as [number, number][]).map((p) => p[0]), x.shape)),
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const g = dy as tf.Tensor;
      const axisAttr = (attrs as Attrs).axis as number | number[];
      const a = Array.isArray(axisAttr) ? axisAttr[0] : axisAttr;
      const axis = a < 0 ? a + saved[0].rank : a;
      const parts = tf.split(g, saved.map((t) => t.shape[axis]), axis);
      return indexed(parts);
    },
  },
  {
    kernelName: 'SplitV',
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(dy as tf.Tensor[], (attrs as Attrs).axis as number) }),
  },
  {
    kernelName: 'Pack',
    gradFunc: (dy, _saved, attrs) => indexed(tf.unstack(dy as tf.Tensor, (attrs as Attrs).axis as number)),
  },
  {
    kernelName: 'Unpack',
    gradFunc: (dy, _saved, attrs) => ({ value: () => tf.stack(dy as tf.Tensor[], (attrs as Attrs).axis as number) }),
  },
  {
    kernelName: 'GatherV2',
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      const { axis, batchDims } = attrs as Attrs;
      if (batchDims !== 0 && batchDims !== undefined) throw new Error('dino-ts gradients: gather with batchDims is not supported');
      const ax = (axis as number) < 0 ? (axis as number) + x.rank : (axis as number);
      return {
        x: () => {
          // Rows of dy gathered from the same index are summed back into that row of x.
          const pre = x.shape.slice(0, ax).reduce((p, d) => p * d, 1);
          const post = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
          const k = indices.size;
          const rows = tf.reshape(tf.transpose(tf.reshape(dy as tf.Tensor, [pre, k, post]), [1, 0, 2]), [k, pre * post]);
          const summed = tf.unsortedSegmentSum(rows, tf.reshape(tf.cast(indices, 'int32'), [k]) as tf.Tensor1D, x.shape[ax]);
          return tf.reshape(tf.transpose(tf.reshape(summed, [x.shape[ax], pre, post]), [1, 0, 2]), x.shape);
        },
        indices: () => tf.cast(tf.zerosLike(indices), 'float32'),
      };
    },
  },
  // Matrix products, convolution and pooling.
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrs as Attrs;
      const g = dy as tf.Tensor;
      let da: () => tf.Tensor;
      let db: () => tf.Tensor;
      if (!transposeA && !transposeB) {
        da = () => tf.matMul(g, b, false, true);
        db = () => tf.matMul(a, g, true, false);
      } else if (!transposeA && transposeB) {
        da = () => tf.matMul(g, b, false, false);
        db = () => tf.matMul(g, a, true, false);
      } else if (transposeA && !transposeB) {
        da = () => tf.matMul(b, g, false, true);
        db = () => tf.matMul(a, g, false, false);
      } else {
        da = () => tf.matMul(b, g, true, true);
        db = () => tf.matMul(g, a, true, true);
      }
      // Broadcast batch axes are summed back.
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
    },
  },
  {
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as Attrs;
      const d = dilations == null ? [1, 1] : typeof dilations === 'number' ? [dilations, dilations] : (dilations as number[]);
      if (d[0] !== 1 || d[1] !== 1) throw new Error(`dino-ts gradients: Conv2D with dilations [${d}] has no gradient`);
      const common = { strides, pad, dataFormat, dimRoundingMode };
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dy as tf.Tensor, filter }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy as tf.Tensor }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  },
  poolGrad('MaxPool'),
  poolGrad('AvgPool'),
  {
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, [x, mean, variance, scale], attrs) => {
      const eps = (attrs as Attrs).varianceEpsilon as number;
      const g = dy as tf.Tensor;
      // mean and variance are inputs of their own here (not statistics of x), as in tfjs.
      const inv = tf.rsqrt(tf.add(variance, eps));
      const centred = tf.sub(x, mean);
      const gScaled = scale == null ? g : tf.mul(g, scale);
      const grads: Record<string, () => tf.Tensor> = {
        x: () => tf.mul(gScaled, inv),
        mean: () => unbroadcast(tf.neg(tf.mul(gScaled, inv)), mean.shape),
        variance: () => unbroadcast(tf.mul(tf.mul(gScaled, centred), tf.mul(tf.pow(inv, 3), -0.5)), variance.shape),
        offset: () => unbroadcast(g, mean.shape),
      };
      if (scale != null) grads.scale = () => unbroadcast(tf.mul(g, tf.mul(centred, inv)), scale.shape);
      return grads;
    },
  },
];

/** The kernels dino-ts provides gradients for. */
export const GRADIENT_KERNELS: readonly string[] = GRADIENTS.map((g) => g.kernelName);

/**
 * Registers dino-ts's gradient for every kernel that has none yet, on the tfjs-core this module
 * imported (the application's). Idempotent; returns the kernels it registered now. Runs when
 * `@dino-ts/core` is imported, so nobody has to call it; it is exported for code that loads a
 * second tfjs registry user (tests that unregister gradients, for example).
 */
export function registerGradients(): string[] {
  const added: string[] = [];
  for (const config of GRADIENTS) {
    if (tf.getGradient(config.kernelName) == null) {
      tf.registerGradient(config);
      added.push(config.kernelName);
    }
  }
  return added;
}

registerGradients();

/** True once this module has run: importing it is what registers the gradients. */
export const GRADIENTS_REGISTERED = true;
