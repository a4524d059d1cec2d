/**
 * Slice, SplitV and Unpack of 4-byte tensors by in-place strided copies (csrc/copy.c). The stock
 * kernels read the whole input out of wasm memory for every slice they take.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelModule } from '../kernel-module';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { splitRange, threadsFor } from '../split';

const MAX_RANK = 8;

/**
 * Compact description of a slice: size-1 dims dropped, and a dim merged into the one before it
 * when the selection stays one contiguous range of the merged dim: when the later dim is taken
 * whole ([b1, b1+z1) x all of n = [b1*n, (b1+z1)*n)) or the earlier dim is one index
 * ({b1} x [b2, b2+z2) = [b1*n+b2, b1*n+b2+z2)). [B,N,576] sliced at [0,0,192] size [B,N,192]
 * becomes [B*N,576] at [0,192] size [B*N,192].
 */
export function planSlice(shape: number[], begin: number[], size: number[]): { shape: number[]; begin: number[]; size: number[] } {
  const s: number[] = [], b: number[] = [], z: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const p = s.length - 1;
    if (p >= 0 && size[d] === shape[d]) {
      b[p] = b[p] * shape[d];
      z[p] = z[p] * shape[d];
      s[p] = s[p] * shape[d];
    } else if (p >= 0 && z[p] === 1) {
      b[p] = b[p] * shape[d] + begin[d];
      z[p] = size[d];
      s[p] = s[p] * shape[d];
    } else {
      s.push(shape[d]);
      b.push(begin[d]);
      z.push(size[d]);
    }
  }
  if (s.length === 0) return { shape: [1], begin: [0], size: [1] };
  return { shape: s, begin: b, size: z };
}

function sliceInto(mod: KernelModule, backend: WasmBackendLike, x: TensorInfo, begin: number[], size: number[], outShape: number[]): TensorInfo {
  const out = makeOutput(backend, outShape, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const p = planSlice(x.shape, begin, size);
  // Parts are ranges of the slice's first dimension, each with its own begin and size.
  const total = tf.util.sizeFromShape(size);
  const threads = threadsFor(mod, total);
  const xPtr = offsetOf(backend, x), oPtr = offsetOf(backend, out);
  const inner = total / p.size[0];
  mod.parallel('slice32', splitRange(p.size[0], threads).map(([i0, len], part) => {
    const [shapePtr, beginPtr, sizePtr] = mod.writePartArgs(part, p.shape, [p.begin[0] + i0, ...p.begin.slice(1)], [len, ...p.size.slice(1)]);
    return [xPtr, oPtr + 4 * i0 * inner, p.shape.length, shapePtr, beginPtr, sizePtr];
  }));
  return out;
}

function supported(x: TensorInfo): boolean {
  return (x.dtype === 'float32' || x.dtype === 'int32') && x.shape.length <= MAX_RANK;
}

export function slice(args: KernelArgs<{ x: TensorInfo }, { begin: number | number[]; size?: number | number[] }>): TensorInfo | TensorInfo[] {
  const mod = moduleFor(args.backend);
  const { x } = args.inputs;
  if (mod == null || !supported(x)) return runStock(tf.Slice, args);
  const { begin, size } = args.attrs as { begin: number | number[]; size?: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.TensorInfo & tf.Tensor, begin, size);
  tf.slice_util.assertParamsValid(x as tf.TensorInfo & tf.Tensor, b, s);
  return sliceInto(mod, args.backend as WasmBackendLike, x, b, s, s);
}

export function splitV(args: KernelArgs<{ x: TensorInfo }, { numOrSizeSplits: number | number[]; axis: number }>): TensorInfo | TensorInfo[] {
  const mod = moduleFor(args.backend);
  const { x } = args.inputs;
  if (mod == null || !supported(x)) return runStock(tf.SplitV, args);
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.TensorInfo & tf.Tensor, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[ax] = s;
    const out = sliceInto(mod, args.backend as WasmBackendLike, x, [...begin], size, size);
    begin[ax] += s;
    return out;
  });
}

export function unpack(args: KernelArgs<{ value: TensorInfo }, { axis: number }>): TensorInfo | TensorInfo[] {
  const mod = moduleFor(args.backend);
  const { value } = args.inputs;
  if (mod == null || !supported(value)) return runStock(tf.Unpack, args);
  let { axis } = args.attrs as { axis: number };
  if (axis < 0) axis += value.shape.length;
  const outShape = value.shape.filter((_, d) => d !== axis);
  const begin = new Array<number>(value.shape.length).fill(0);
  const size = [...value.shape];
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    outs.push(sliceInto(mod, args.backend as WasmBackendLike, value, [...begin], size, outShape));
  }
  return outs;
}
