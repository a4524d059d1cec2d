/**
 * BatchMatMul (every tf.matMul, every transpose combination, batch broadcasting) on the packed
 * SIMD GEMM of csrc/gemm.c.
 */
import { BatchMatMul, broadcast_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import type { KernelModule } from '../kernel-module';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { parallelMin, splitRange, threadsFor } from '../split';

interface MatMulInputs {
  a: TensorInfo;
  b: TensorInfo;
}
interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** Geometry of op(A)[M,K] * op(B)[K,N] with broadcast batch dims. */
export interface GemmPlan {
  m: number;
  n: number;
  k: number;
  outShape: number[];
  batch: number;
  /** Element strides: A(i,k) = a[i*ars + k*acs], B(k,j) = b[k*brs + j*bcs]. */
  ars: number;
  acs: number;
  brs: number;
  bcs: number;
  /** Per-batch element offsets of A and B; null when a constant stride (sa, sb) describes them. */
  aOffsets: number[] | null;
  bOffsets: number[] | null;
  sa: number;
  sb: number;
}

export function planGemm(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): GemmPlan {
  const ar = a.shape.length, br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  util.assert(
    k === kb,
    () =>
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ` +
      `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const aBatchShape = a.shape.slice(0, -2), bBatchShape = b.shape.slice(0, -2);
  const batchShape = broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  const batch = util.sizeFromShape(batchShape);
  const batchA = util.sizeFromShape(aBatchShape), batchB = util.sizeFromShape(bBatchShape);
  const aMat = m * k, bMat = k * n;
  const plan: GemmPlan = {
    m, n, k, outShape: [...batchShape, m, n], batch,
    ars: transposeA ? 1 : k, acs: transposeA ? m : 1,
    brs: transposeB ? 1 : n, bcs: transposeB ? k : 1,
    aOffsets: null, bOffsets: null, sa: 0, sb: 0,
  };
  if ((batchA === batch || batchA === 1) && (batchB === batch || batchB === 1)) {
    // One operand is shared by every batch or both advance together: constant strides.
    plan.sa = batchA === 1 ? 0 : aMat;
    plan.sb = batchB === 1 ? 0 : bMat;
  } else {
    plan.aOffsets = broadcastOffsets(batchShape, aBatchShape, aMat);
    plan.bOffsets = broadcastOffsets(batchShape, bBatchShape, bMat);
  }
  return plan;
}

/** Element offset of each output batch's matrix in an operand with batch shape `opShape`. */
function broadcastOffsets(outShape: number[], opShape: number[], matSize: number): number[] {
  const r = outShape.length;
  const padded = [...new Array(r - opShape.length).fill(1), ...opShape];
  const strides = new Array(r).fill(0);
  let s = matSize;
  for (let d = r - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : s;
    s *= padded[d];
  }
  const total = util.sizeFromShape(outShape);
  const offsets = new Array<number>(total);
  const idx = new Array(r).fill(0);
  for (let t = 0; t < total; t++) {
    let off = 0;
    for (let d = 0; d < r; d++) off += idx[d] * strides[d];
    offsets[t] = off;
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return offsets;
}

/**
 * Row and column multiples that keep thread splits on whole micro-kernel tiles (csrc/gemm.c:
 * MR x NR is 4 x 8, or 6 x 8 in the relaxed-SIMD build; 12 rows suit both).
 */
const MR = 12;
const NR = 8;

/**
 * Runs `batch` products C_t = op(A_t) op(B_t) (+ a bias of n floats on every row at byte offset
 * `bias`, 0 for none; C_t contiguous m x n) on the module's threads:
 * whole products per thread when there are enough of them, else rows (or, for wide and short
 * outputs, columns) of each product. Small products run on this thread alone.
 */
function gemmParallel(
  mod: KernelModule, batch: number, m: number, n: number, k: number,
  a: number, sa: number, ars: number, acs: number,
  b: number, sb: number, brs: number, bcs: number, c: number, bias: number,
): void {
  const threads = threadsFor(mod, batch * m * n * k, parallelMin.macs);
  const mn = m * n;
  let parts: number[][];
  if (threads === 1) {
    parts = [[batch, m, n, k, a, sa, ars, acs, b, sb, brs, bcs, c, mn, n, mod.partWorkspace(0), bias]];
  } else if (batch >= threads) {
    parts = splitRange(batch, threads).map(([t0, len], i) => [
      len, m, n, k, a + 4 * t0 * sa, sa, ars, acs, b + 4 * t0 * sb, sb, brs, bcs, c + 4 * t0 * mn, mn, n,
      mod.partWorkspace(i), bias,
    ]);
  } else if (m >= n) {
    parts = splitRange(m, threads, MR).map(([r0, rows], i) => [
      batch, rows, n, k, a + 4 * r0 * ars, sa, ars, acs, b, sb, brs, bcs, c + 4 * r0 * n, mn, n,
      mod.partWorkspace(i), bias,
    ]);
  } else {
    parts = splitRange(n, threads, NR).map(([c0, cols], i) => [
      batch, m, cols, k, a, sa, ars, acs, b + 4 * c0 * bcs, sb, brs, bcs, c + 4 * c0, mn, n,
      mod.partWorkspace(i), bias === 0 ? 0 : bias + 4 * c0,
    ]);
  }
  mod.parallel('gemm_strided', parts);
}

/**
 * Runs the planned GEMM from tensors at byte offsets aPtr, bPtr into cPtr, adding the n floats
 * at biasPtr to every output row when it is not 0 (in the GEMM's last store: the same bits as a
 * separate pass, one read and write of C fewer).
 */
export function runGemm(mod: KernelModule, plan: GemmPlan, aPtr: number, bPtr: number, cPtr: number, biasPtr = 0): void {
  const { m, n, k, ars, acs, brs, bcs } = plan;
  if (plan.aOffsets == null || plan.bOffsets == null) {
    gemmParallel(mod, plan.batch, m, n, k, aPtr, plan.sa, ars, acs, bPtr, plan.sb, brs, bcs, cPtr, biasPtr);
    return;
  }
  for (let t = 0; t < plan.batch; t++) {
    gemmParallel(mod, 1, m, n, k, aPtr + 4 * plan.aOffsets[t], 0, ars, acs, bPtr + 4 * plan.bOffsets[t], 0,
      brs, bcs, cPtr + 4 * t * m * n, biasPtr);
  }
}

export function batchMatMul(args: KernelArgs<MatMulInputs, MatMulAttrs>): TensorInfo | TensorInfo[] {
  const mod = moduleFor(args.backend);
  const { a, b } = args.inputs;
  if (mod == null || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return runStock(BatchMatMul, args);
  }
  const backend = args.backend as WasmBackendLike;
  const { transposeA, transposeB } = args.attrs as MatMulAttrs;
  const plan = planGemm(a, b, transposeA, transposeB);
  const out = makeOutput(backend, plan.outShape, 'float32');
  if (util.sizeFromShape(plan.outShape) > 0) {
    runGemm(mod, plan, offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out));
  }
  return out;
}
