/**
 * Transpose of 4-byte tensors (float32, int32) by csrc/transpose.c; other dtypes use the stock
 * kernel.
 */
import { Transpose, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { splitRange, threadsFor } from '../split';

const MAX_RANK = 8;

/**
 * Drops size-1 dimensions and merges input dimensions that stay adjacent and in order in the
 * output: [64,50,3,3,64] with perm [2,0,3,1,4] stays 5-D, but [B,7,4,7,4,1] with
 * [0,1,3,2,4,5] becomes [B*7,4,7,4] with [0,2,1,3]. The result moves the same elements.
 */
export function simplifyTranspose(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keep: number[] = [];
  const newIndex = new Array<number>(shape.length).fill(-1);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] !== 1) {
      newIndex[d] = keep.length;
      keep.push(d);
    }
  }
  const s1 = keep.map((d) => shape[d]);
  const p1 = perm.filter((d) => shape[d] !== 1).map((d) => newIndex[d]);
  if (p1.length === 0) return { shape: [1], perm: [0] };
  // Runs of consecutive input dims in output order become one dim each.
  const groups: number[][] = [];
  for (const d of p1) {
    const g = groups[groups.length - 1];
    if (g != null && d === g[g.length - 1] + 1) g.push(d);
    else groups.push([d]);
  }
  const byInput = [...groups].sort((x, y) => x[0] - y[0]);
  const newShape = byInput.map((g) => g.reduce((acc, d) => acc * s1[d], 1));
  const newPerm = groups.map((g) => byInput.indexOf(g));
  return { shape: newShape, perm: newPerm };
}

export function transpose(args: KernelArgs<{ x: TensorInfo }, { perm: number[] }>): TensorInfo | TensorInfo[] {
  const mod = moduleFor(args.backend);
  const { x } = args.inputs;
  const perm = (args.attrs as { perm: number[] }).perm;
  if (mod == null || (x.dtype !== 'float32' && x.dtype !== 'int32') || perm.length !== x.shape.length) {
    return runStock(Transpose, args);
  }
  const backend = args.backend as WasmBackendLike;
  const outShape = perm.map((d) => x.shape[d]);
  const s = simplifyTranspose(x.shape, perm);
  if (s.shape.length > MAX_RANK) return runStock(Transpose, args);
  const out = makeOutput(backend, outShape, x.dtype);
  if (util.sizeFromShape(outShape) === 0) return out;
  // Parts are ranges of the output's first dimension (each a strided block of the input).
  const size = util.sizeFromShape(outShape);
  const first = s.shape[s.perm[0]];
  const threads = threadsFor(mod, size);
  const [shapePtr, permPtr] = mod.writeArgs(s.shape, s.perm);
  const xPtr = offsetOf(backend, x), oPtr = offsetOf(backend, out);
  mod.parallel('transpose32', splitRange(first, threads).map(([i0, len]) => [xPtr, oPtr, s.shape.length, shapePtr, permPtr, i0, len]));
  return out;
}
