/**
 * Concat and Pack of 4-byte tensors: each input is one strided block copy into the output
 * (csrc/copy.c copy_rows32). The stock Concat copies with one typed-array `set` per input row,
 * which for the gradient of a qkv split ([B, N, D] x 3 along the last axis) is B*N*3 small copies.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { splitRange, threadsFor } from '../split';

function supported(inputs: TensorInfo[]): boolean {
  if (inputs.length === 0) return false;
  const dtype = inputs[0].dtype;
  return (dtype === 'float32' || dtype === 'int32') && inputs.every((t) => t.dtype === dtype);
}

/** Copies each input, viewed as [rows, n_i], into columns of the output viewed as [rows, sum n_i]. */
function place(backend: WasmBackendLike, inputs: TensorInfo[], out: TensorInfo, rows: number, widths: number[]): void {
  const mod = moduleFor(backend);
  if (mod == null) throw new Error('wasm-kernels: module not bound');
  const ldo = widths.reduce((a, b) => a + b, 0);
  const base = offsetOf(backend, out);
  let col = 0;
  inputs.forEach((t, i) => {
    const n = widths[i];
    if (n > 0 && rows > 0) {
      // Parts are ranges of rows.
      const threads = threadsFor(mod, rows * n);
      const x = offsetOf(backend, t), o = base + 4 * col;
      mod.parallel('copy_rows32', splitRange(rows, threads).map(([r0, len]) => [x + 4 * r0 * n, o + 4 * r0 * ldo, len, n, ldo]));
    }
    col += n;
  });
}

export function concat(args: KernelArgs<TensorInfo[], { axis: number | number[] }>): TensorInfo | TensorInfo[] {
  const inputs = args.inputs as unknown as TensorInfo[];
  if (moduleFor(args.backend) == null || !supported(inputs)) return runStock(tf.Concat, args);
  const { axis } = args.attrs as { axis: number | number[] };
  const ax = tf.util.parseAxisParam(axis, inputs[0].shape)[0];
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, ax);
  const outShape = tf.backend_util.computeOutShape(shapes, ax);
  const backend = args.backend as WasmBackendLike;
  const out = makeOutput(backend, outShape, inputs[0].dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const rows = tf.util.sizeFromShape(outShape.slice(0, ax));
  place(backend, inputs, out, rows, inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(ax))));
  return out;
}

export function pack(args: KernelArgs<TensorInfo[], { axis: number }>): TensorInfo | TensorInfo[] {
  const inputs = args.inputs as unknown as TensorInfo[];
  if (moduleFor(args.backend) == null || !supported(inputs) || inputs.length < 2) return runStock(tf.Pack, args);
  const shape = inputs[0].shape;
  for (const t of inputs) {
    tf.util.assertShapesMatch(shape, t.shape, 'All tensors passed to stack must have matching shapes');
  }
  let { axis } = args.attrs as { axis: number };
  if (axis < 0) axis += shape.length + 1;
  const outShape = [...shape.slice(0, axis), inputs.length, ...shape.slice(axis)];
  const backend = args.backend as WasmBackendLike;
  const out = makeOutput(backend, outShape, inputs[0].dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const n = tf.util.sizeFromShape(shape.slice(axis));
  place(backend, inputs, out, tf.util.sizeFromShape(shape.slice(0, axis)), inputs.map(() => n));
  return out;
}
