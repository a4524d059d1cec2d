/**
 * _FusedMatMul (tf.fused.matMul): the packed GEMM, with a [N] bias added in its last store, followed
 * by a pass over the output for the activation and other bias broadcasts. Every activation but prelu runs in that pass; prelu applies the stock Prelu kernel to the
 * biased product. (The stock fused kernel also mishandles a size-1 bias, which this one
 * broadcasts.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { _FusedMatMul, util, type TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf, type WasmBackendLike } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { splitRange, threadsFor } from '../split';
import { planGemm, runGemm } from './batch-mat-mul';

interface FusedInputs {
  a: TensorInfo;
  b: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}
interface FusedAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation: string;
  leakyreluAlpha?: number;
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5, prelu: 0 };

/**
 * How the bias broadcasts over the output [...batch, M, N], as (mode, biasRows) for
 * csrc bias_activation: mode 0 none, 2 scalar, 1 rows of N (bias row i % biasRows of the
 * [batch*M, N] output): a [N] bias has 1 row, an [M, N] bias M rows (repeated over the batch),
 * a full [...batch, M, N] bias batch*M rows. null: another broadcast (left to the stock kernel).
 */
function biasMode(bias: TensorInfo | undefined, outShape: number[]): [number, number] | null {
  if (bias == null) return [0, 1];
  if (util.sizeFromShape(bias.shape) === 1) return [2, 1];
  const r = outShape.length;
  if (bias.shape.length > r) return null;
  const padded = [...new Array(r - bias.shape.length).fill(1), ...bias.shape];
  if (padded[r - 1] !== outShape[r - 1]) return null;
  // Leading dims: some run of 1s, then exactly the output's dims (so rows are contiguous).
  let d = 0;
  while (d < r - 1 && padded[d] === 1) d++;
  for (let e = d; e < r - 1; e++) if (padded[e] !== outShape[e]) return null;
  return [1, util.sizeFromShape(padded.slice(0, r - 1))];
}

export function fusedMatMul(args: KernelArgs<FusedInputs, FusedAttrs>): TensorInfo | TensorInfo[] {
  const mod = moduleFor(args.backend);
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const attrs = args.attrs as FusedAttrs;
  const act = ACTIVATIONS[attrs.activation];
  if (
    mod == null || a.dtype !== 'float32' || b.dtype !== 'float32' || act == null ||
    (attrs.activation === 'prelu') !== (preluActivationWeights != null) ||
    (bias != null && bias.dtype !== 'float32')
  ) {
    return runStock(_FusedMatMul, args);
  }
  const plan = planGemm(a, b, attrs.transposeA, attrs.transposeB);
  const bm = biasMode(bias, plan.outShape);
  if (bm == null) return runStock(_FusedMatMul, args);
  const [mode, biasRows] = bm;
  const backend = args.backend as WasmBackendLike;
  const out = makeOutput(backend, plan.outShape, 'float32');
  if (util.sizeFromShape(plan.outShape) === 0) return out;
  const cPtr = offsetOf(backend, out);
  const biasPtr = bias == null ? 0 : offsetOf(backend, bias);
  // A bias of one row (a Linear layer's) joins the GEMM's last store; other broadcasts and the
  // activation take a pass over the output.
  const inGemm = mode === 1 && biasRows === 1;
  runGemm(mod, plan, offsetOf(backend, a), offsetOf(backend, b), cPtr, inGemm ? biasPtr : 0);
  if (inGemm ? act !== 0 : mode !== 0 || act !== 0) {
    const passMode = inGemm ? 0 : mode;
    const rows = plan.batch * plan.m;
    const alpha = attrs.leakyreluAlpha ?? 0.2;
    const threads = threadsFor(mod, rows * plan.n);
    // Row i takes bias row i % biasRows and a part numbers its rows from 0: a bias with one row
    // per output row moves with the part; otherwise parts start at multiples of biasRows.
    const perRow = passMode === 1 && biasRows === rows;
    const align = passMode === 1 && !perRow ? biasRows : 1;
    const parts = splitRange(rows, threads, align).map(([r0, len]) => [
      cPtr + 4 * r0 * plan.n, len, plan.n,
      perRow ? biasPtr + 4 * r0 * plan.n : biasPtr, passMode, perRow ? len : biasRows, act, alpha,
    ]);
    mod.parallel('bias_activation', parts);
  }
  if (preluActivationWeights != null) {
    const prelu = tf.getKernel(tf.Prelu, 'wasm');
    if (prelu == null) throw new Error('wasm-kernels: tfjs-backend-wasm has no Prelu kernel');
    const y = prelu.kernelFunc({ inputs: { x: out, alpha: preluActivationWeights }, backend: backend as never }) as TensorInfo;
    (backend as unknown as { disposeData(id: object): void }).disposeData(out.dataId);
    return y;
  }
  return out;
}
