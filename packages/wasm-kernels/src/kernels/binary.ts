/**
 * Float32 element-wise binary kernels with broadcasting (csrc/binary.c).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { splitRange, threadsFor } from '../split';
import { unaryParallel } from './unary';

/** Op codes of csrc/binary.c, by tfjs kernel name. */
export const BINARY_OPS = {
  [tf.Add]: 0,
  [tf.Sub]: 1,
  [tf.Multiply]: 2,
  [tf.RealDiv]: 3,
  [tf.Maximum]: 4,
  [tf.Minimum]: 5,
  [tf.SquaredDifference]: 6,
  [tf.Pow]: 7,
} as const;

/** Exponents with an exact unary form (csrc/unary.c op codes): x^2 = x*x and so on. */
const POW_SHORTCUTS: Record<number, number> = { 1: 14, 2: 5, 3: 15, [-1]: 11 };

const MAX_RANK = 8;

export interface BinaryPlan {
  outShape: number[];
  /** Merged output dims and each operand's element stride per dim (0 = broadcast). */
  shape: number[];
  astride: number[];
  bstride: number[];
}

/**
 * Output shape and a compact description of the broadcast: size-1 output dims dropped, adjacent
 * dims merged where each operand either stays contiguous or stays broadcast across them (e.g.
 * [64,50,192] + [192] becomes 3200 rows of a 192-vector).
 */
export function planBinary(aShape: number[], bShape: number[]): BinaryPlan {
  const outShape = tf.broadcast_util.assertAndGetBroadcastShape(aShape, bShape);
  const r = outShape.length;
  const strides = (shape: number[]): number[] => {
    const padded = [...new Array(r - shape.length).fill(1), ...shape];
    const st = new Array<number>(r);
    let s = 1;
    for (let d = r - 1; d >= 0; d--) {
      st[d] = padded[d] === 1 ? 0 : s;
      s *= padded[d];
    }
    return st;
  };
  const sa = strides(aShape), sb = strides(bShape);
  const shape: number[] = [], astride: number[] = [], bstride: number[] = [];
  for (let d = 0; d < r; d++) {
    if (outShape[d] === 1) continue;
    const p = shape.length - 1;
    if (p >= 0 && astride[p] === sa[d] * outShape[d] && bstride[p] === sb[d] * outShape[d]) {
      shape[p] *= outShape[d];
      astride[p] = sa[d];
      bstride[p] = sb[d];
    } else {
      shape.push(outShape[d]);
      astride.push(sa[d]);
      bstride.push(sb[d]);
    }
  }
  if (shape.length === 0) return { outShape, shape: [1], astride: [1], bstride: [1] };
  return { outShape, shape, astride, bstride };
}

export function binaryKernel(name: keyof typeof BINARY_OPS) {
  const op = BINARY_OPS[name];
  return (args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>): TensorInfo | TensorInfo[] => {
    const mod = moduleFor(args.backend);
    const { a, b } = args.inputs;
    if (mod == null || a.dtype !== 'float32' || b.dtype !== 'float32') return runStock(name, args);
    const plan = planBinary(a.shape, b.shape);
    if (plan.shape.length > MAX_RANK) return runStock(name, args);
    const backend = args.backend as WasmBackendLike;
    const out = makeOutput(backend, plan.outShape, 'float32');
    const size = tf.util.sizeFromShape(plan.outShape);
    if (size === 0) return out;
    if (name === tf.Pow && tf.util.sizeFromShape(b.shape) === 1 && tf.util.arraysEqual(plan.outShape, a.shape)) {
      // A constant exponent with an exact unary form (the gradient of x^2 asks for x^1).
      const e = new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, b), 1)[0];
      const u = POW_SHORTCUTS[e];
      if (u != null) {
        unaryParallel(mod, offsetOf(backend, a), offsetOf(backend, out), size, u);
        return out;
      }
    }
    // Parts are ranges of the outermost (merged) dimension, each with its own shape array.
    const threads = threadsFor(mod, size);
    const aBase = offsetOf(backend, a), bBase = offsetOf(backend, b), oBase = offsetOf(backend, out);
    const inner = size / plan.shape[0];
    const parts = splitRange(plan.shape[0], threads).map(([i0, len], part) => {
      const [shapePtr, aPtr, bPtr] = mod.writePartArgs(part, [len, ...plan.shape.slice(1)], plan.astride, plan.bstride);
      return [op, aBase + 4 * i0 * plan.astride[0], bBase + 4 * i0 * plan.bstride[0], oBase + 4 * i0 * inner,
        plan.shape.length, shapePtr, aPtr, bPtr];
    });
    mod.parallel('binary_f32', parts);
    return out;
  };
}
