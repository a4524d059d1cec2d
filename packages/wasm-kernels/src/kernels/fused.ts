/**
 * Fused kernels under names of their own (tfjs has no such kernels to replace): the AdamW update,
 * the EMA, GELU and LayerNorm with their gradients, each one pass over memory (csrc/fused.c), and
 * a Linear layer's product with its bias added in the GEMM.
 * `@dino-ts/core` and `@dino-ts/dino` look these names up for the active backend and use the
 * composed ops where they are not registered, so the same code runs on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf } from '../wasm-backend';
import type { KernelArgs } from '../state';
import type { KernelModule } from '../kernel-module';
import { elementwise, splitRange, threadsFor } from '../split';
import { planGemm, runGemm } from './batch-mat-mul';

import { FUSED_KERNEL_NAMES, need } from './fused-args';
import { attention } from './attention';

export { FUSED_KERNEL_NAMES };

function sameSize(name: string, ...ts: TensorInfo[]): number {
  const n = tf.util.sizeFromShape(ts[0].shape);
  for (const t of ts) {
    if (tf.util.sizeFromShape(t.shape) !== n) {
      throw new Error(`wasm-kernels: ${name}: tensors of shapes ${ts.map((x) => `[${x.shape}]`).join(', ')} differ in size`);
    }
  }
  return n;
}

interface AdamWAttrs {
  decay: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  biasCorrection2Sqrt: number;
  eps: number;
  stepSize: number;
}

function adamw(args: KernelArgs<{ param: TensorInfo; grad: TensorInfo; expAvg: TensorInfo; expAvgSq: TensorInfo }, AdamWAttrs>): TensorInfo[] {
  const { param, grad, expAvg, expAvgSq } = args.inputs;
  const { mod, backend } = need(args.backend, FUSED_KERNEL_NAMES.adamw, [param, grad, expAvg, expAvgSq]);
  const n = sameSize(FUSED_KERNEL_NAMES.adamw, param, grad, expAvg, expAvgSq);
  const a = args.attrs as AdamWAttrs;
  const outs = [param, expAvg, expAvgSq].map((t) => makeOutput(backend, t.shape, 'float32'));
  if (n > 0) {
    const ptrs = [param, grad, expAvg, expAvgSq, ...outs].map((t) => offsetOf(backend, t));
    elementwise(mod, 'adamw_f32', ptrs, n, [a.decay, a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.biasCorrection2Sqrt, a.eps, a.stepSize]);
  }
  return outs;
}

function ema(args: KernelArgs<{ teacher: TensorInfo; student: TensorInfo }, { momentum: number; oneMinusMomentum: number }>): TensorInfo {
  const { teacher, student } = args.inputs;
  const { mod, backend } = need(args.backend, FUSED_KERNEL_NAMES.ema, [teacher, student]);
  const n = sameSize(FUSED_KERNEL_NAMES.ema, teacher, student);
  const { momentum, oneMinusMomentum } = args.attrs as { momentum: number; oneMinusMomentum: number };
  const out = makeOutput(backend, teacher.shape, 'float32');
  if (n > 0) elementwise(mod, 'ema_f32', [teacher, student, out].map((t) => offsetOf(backend, t)), n, [momentum, oneMinusMomentum]);
  return out;
}

function gelu(args: KernelArgs<{ x: TensorInfo }>): TensorInfo {
  const { x } = args.inputs;
  const { mod, backend } = need(args.backend, FUSED_KERNEL_NAMES.gelu, [x]);
  const out = makeOutput(backend, x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  if (n > 0) elementwise(mod, 'gelu_f32', [offsetOf(backend, x), offsetOf(backend, out)], n, []);
  return out;
}

function geluGrad(args: KernelArgs<{ dy: TensorInfo; x: TensorInfo }>): TensorInfo {
  const { dy, x } = args.inputs;
  const { mod, backend } = need(args.backend, FUSED_KERNEL_NAMES.geluGrad, [dy, x]);
  const n = sameSize(FUSED_KERNEL_NAMES.geluGrad, dy, x);
  const out = makeOutput(backend, x.shape, 'float32');
  if (n > 0) elementwise(mod, 'gelu_grad_f32', [dy, x, out].map((t) => offsetOf(backend, t)), n, []);
  return out;
}

/** Rows and row length of a LayerNorm over the last axis, with the parameters' shapes checked. */
function rowsOf(name: string, x: TensorInfo, ...params: TensorInfo[]): [number, number] {
  const n = x.shape[x.shape.length - 1] ?? 1;
  for (const p of params) {
    if (p.shape.length !== 1 || p.shape[0] !== n) {
      throw new Error(`wasm-kernels: ${name}: parameter of shape [${p.shape}] for rows of ${n}`);
    }
  }
  return [n === 0 ? 0 : tf.util.sizeFromShape(x.shape) / n, n];
}

/** Rows per part: each part normalises whole rows, so any split gives the same bits. */
function rowParts(mod: KernelModule, rows: number, n: number): [number, number][] {
  return splitRange(rows, threadsFor(mod, rows * n));
}

function layerNorm(args: KernelArgs<{ x: TensorInfo; weight: TensorInfo; bias: TensorInfo }, { eps: number }>): TensorInfo[] {
  const { x, weight, bias } = args.inputs;
  const name = FUSED_KERNEL_NAMES.layerNorm;
  const { mod, backend } = need(args.backend, name, [x, weight, bias]);
  const [rows, n] = rowsOf(name, x, weight, bias);
  const statShape = x.shape.slice(0, -1);
  const y = makeOutput(backend, x.shape, 'float32');
  const mean = makeOutput(backend, statShape, 'float32');
  const rstd = makeOutput(backend, statShape, 'float32');
  if (rows > 0 && n > 0) {
    const [px, pw, pb, py, pm, pr] = [x, weight, bias, y, mean, rstd].map((t) => offsetOf(backend, t));
    const eps = (args.attrs as { eps: number }).eps;
    mod.parallel('layer_norm_f32', rowParts(mod, rows, n).map(([r0, len]) => [
      px + 4 * r0 * n, pw, pb, py + 4 * r0 * n, pm + 4 * r0, pr + 4 * r0, len, n, eps,
    ]));
  }
  return [y, mean, rstd];
}

function layerNormGrad(args: KernelArgs<{ dy: TensorInfo; x: TensorInfo; weight: TensorInfo; mean: TensorInfo; rstd: TensorInfo }>): TensorInfo[] {
  const { dy, x, weight, mean, rstd } = args.inputs;
  const name = FUSED_KERNEL_NAMES.layerNormGrad;
  const { mod, backend } = need(args.backend, name, [dy, x, weight, mean, rstd]);
  const [rows, n] = rowsOf(name, x, weight);
  sameSize(name, dy, x);
  if (tf.util.sizeFromShape(mean.shape) !== rows || tf.util.sizeFromShape(rstd.shape) !== rows) {
    throw new Error(`wasm-kernels: ${name}: mean and rstd need one value per row (${rows})`);
  }
  const dx = makeOutput(backend, x.shape, 'float32');
  const dw = makeOutput(backend, [n], 'float32');
  const db = makeOutput(backend, [n], 'float32');
  if (n > 0) {
    const [pdy, px, pw, pm, pr, pdx, pdw, pdb] = [dy, x, weight, mean, rstd, dx, dw, db].map((t) => offsetOf(backend, t));
    if (rows === 0) {
      new Float32Array(backend.wasm.HEAPU8.buffer, pdw, n).fill(0);
      new Float32Array(backend.wasm.HEAPU8.buffer, pdb, n).fill(0);
      return [dx, dw, db];
    }
    mod.parallel('layer_norm_grad_f32', rowParts(mod, rows, n).map(([r0, len]) => [
      pdy + 4 * r0 * n, px + 4 * r0 * n, pw, pm + 4 * r0, pr + 4 * r0, pdx + 4 * r0 * n, len, n,
    ]));
    // Column sums over all rows, split by columns (whole vectors of 4), so every sum is whole.
    const colThreads = threadsFor(mod, rows * n);
    mod.parallel('layer_norm_grad_params_f32', splitRange(n, colThreads, 4).map(([c0, cols]) => [
      pdy, px, pm, pr, pdw, pdb, rows, n, c0, cols,
    ]));
  }
  return [dx, dw, db];
}

type AnyKernel = (args: never) => TensorInfo | TensorInfo[];

/** The fused kernels by name, registered for the wasm backend next to the replaced stock ones. */
/**
 * DinoLinear: y [R, out] = x [R, in] weight [out, in]^T + bias [out], the bias added in the
 * GEMM's last store (the bits of matMul then add, without the second pass over y).
 */
function linear(args: KernelArgs<{ x: TensorInfo; weight: TensorInfo; bias: TensorInfo }>): TensorInfo {
  const { x, weight, bias } = args.inputs;
  const name = FUSED_KERNEL_NAMES.linear;
  const { mod, backend } = need(args.backend, name, [x, weight, bias]);
  if (x.shape.length !== 2 || weight.shape.length !== 2 || bias.shape.length !== 1 ||
      x.shape[1] !== weight.shape[1] || bias.shape[0] !== weight.shape[0]) {
    throw new Error(`wasm-kernels: ${name} takes x [rows, in], weight [out, in] and bias [out], got [${x.shape}], [${weight.shape}] and [${bias.shape}]`);
  }
  const plan = planGemm(x, weight, false, true);
  const out = makeOutput(backend, plan.outShape, 'float32');
  if (tf.util.sizeFromShape(plan.outShape) > 0) {
    runGemm(mod, plan, offsetOf(backend, x), offsetOf(backend, weight), offsetOf(backend, out), offsetOf(backend, bias));
  }
  return out;
}

export const FUSED_KERNELS: Record<string, AnyKernel> = {
  [FUSED_KERNEL_NAMES.adamw]: adamw,
  [FUSED_KERNEL_NAMES.ema]: ema,
  [FUSED_KERNEL_NAMES.gelu]: gelu,
  [FUSED_KERNEL_NAMES.geluGrad]: geluGrad,
  [FUSED_KERNEL_NAMES.layerNorm]: layerNorm,
  [FUSED_KERNEL_NAMES.layerNormGrad]: layerNormGrad,
  [FUSED_KERNEL_NAMES.linear]: linear,
  [FUSED_KERNEL_NAMES.attention]: attention,
};
