/**
 * Float32 reductions Sum, Mean, Max, Min over any axes without a transpose (csrc/reduce.c).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { splitRange, threadsFor } from '../split';

export const REDUCE_OPS = {
  [tf.Sum]: 0,
  [tf.Mean]: 0,
  [tf.Max]: 1,
  [tf.Min]: 2,
} as const;

const MAX_RANK = 8;

interface ReduceAttrs {
  axis?: number | number[] | null;
  reductionIndices?: number | number[];
  keepDims: boolean;
}

/**
 * Merged input dims alternating kept / reduced (size-1 dims dropped) for reducing `axes` of
 * `shape`, e.g. [64,50,192] over [0,1] -> shape [3200,192], reduced [1,0].
 */
export function planReduce(shape: number[], axes: number[]): { shape: number[]; reduced: number[] } {
  const outShape: number[] = [], reduced: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const r = axes.includes(d) ? 1 : 0;
    const p = outShape.length - 1;
    if (p >= 0 && reduced[p] === r) outShape[p] *= shape[d];
    else {
      outShape.push(shape[d]);
      reduced.push(r);
    }
  }
  if (outShape.length === 0) return { shape: [1], reduced: [0] };
  return { shape: outShape, reduced };
}

export function reduceKernel(name: keyof typeof REDUCE_OPS) {
  const op = REDUCE_OPS[name];
  return (args: KernelArgs<{ x: TensorInfo }, ReduceAttrs>): TensorInfo | TensorInfo[] => {
    const mod = moduleFor(args.backend);
    const { x } = args.inputs;
    const size = tf.util.sizeFromShape(x.shape);
    if (mod == null || x.dtype !== 'float32' || (size === 0 && op !== 0)) return runStock(name, args);
    const attrs = args.attrs as ReduceAttrs;
    // Max names its axes reductionIndices; Sum, Mean and Min name them axis.
    const axis = attrs.reductionIndices ?? attrs.axis ?? null;
    const keepDims = attrs.keepDims;
    // null (all axes) is handled by parseAxisParam at run time.
    const axes = tf.util.parseAxisParam(axis as number[], x.shape);
    const [outShape0, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const plan = planReduce(x.shape, axes);
    if (plan.shape.length > MAX_RANK) return runStock(name, args);
    const outShape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape0, axes) : outShape0;
    const backend = args.backend as WasmBackendLike;
    const out = makeOutput(backend, outShape, 'float32');
    const count = tf.util.sizeFromShape(reduceShape);
    const scale = name === tf.Mean ? 1 / count : 1;
    if (size === 0) {
      // An empty sum is 0 and an empty mean 0/0 (the stock kernels leave the output unwritten).
      const n = tf.util.sizeFromShape(outShape);
      new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, out), n).fill(name === tf.Mean ? NaN : 0);
      return out;
    }
    // Parts are ranges of the outermost dimension when it is kept (each output element is then
    // reduced by one part, as with one thread); a reduced outermost dimension runs here alone.
    const outer = plan.reduced[0] === 0 ? plan.shape[0] : 1;
    const threads = outer === 1 ? 1 : threadsFor(mod, size);
    const xBase = offsetOf(backend, x), oBase = offsetOf(backend, out);
    const xInner = size / plan.shape[0];
    const oInner = tf.util.sizeFromShape(outShape) / outer;
    const parts = splitRange(outer, threads).map(([i0, len], part) => {
      const [shapePtr, redPtr] = mod.writePartArgs(part, [plan.reduced[0] === 0 ? len : plan.shape[0], ...plan.shape.slice(1)], plan.reduced);
      return [op, xBase + 4 * i0 * xInner, oBase + 4 * i0 * oInner, plan.shape.length, shapePtr, redPtr, scale];
    });
    mod.parallel('reduce_f32', parts);
    return out;
  };
}
