/**
 * Float32 element-wise unary kernels (csrc/unary.c): exp, erf, tanh, log, ... The stock kernels
 * call libm once per element; these evaluate 4 lanes of a polynomial at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { elementwise } from '../split';
import type { KernelModule } from '../kernel-module';

/** unary_f32 over n floats, on the module's threads. */
export function unaryParallel(mod: KernelModule, x: number, y: number, n: number, op: number): void {
  elementwise(mod, 'unary_f32', [x, y], n, [op]);
}

/** Op codes of csrc/unary.c, by tfjs kernel name. */
export const UNARY_OPS = {
  [tf.Exp]: 0,
  [tf.Erf]: 1,
  [tf.Tanh]: 2,
  [tf.Log]: 3,
  [tf.Neg]: 4,
  [tf.Square]: 5,
  [tf.Sqrt]: 6,
  [tf.Rsqrt]: 7,
  [tf.Abs]: 8,
  [tf.Relu]: 9,
  [tf.Sigmoid]: 10,
  [tf.Reciprocal]: 11,
  [tf.Elu]: 12,
  [tf.Relu6]: 13,
} as const;

export function unaryKernel(name: keyof typeof UNARY_OPS) {
  const op = UNARY_OPS[name];
  return (args: KernelArgs<{ x: TensorInfo }>): TensorInfo | TensorInfo[] => {
    const mod = moduleFor(args.backend);
    const { x } = args.inputs;
    if (mod == null || x.dtype !== 'float32') return runStock(name, args);
    const backend = args.backend as WasmBackendLike;
    const out = makeOutput(backend, x.shape, 'float32');
    const n = tf.util.sizeFromShape(x.shape);
    if (n > 0) unaryParallel(mod, offsetOf(backend, x), offsetOf(backend, out), n, op);
    return out;
  };
}
