/**
 * Fused kernels, by name. tfjs runs LayerNorm, GELU, the AdamW update and the EMA as chains of
 * element-wise ops, each a pass over memory, and a Linear layer's bias as a pass of its own. A
 * backend package may register one kernel for each under these names (@dino-ts/wasm-kernels does
 * for wasm); the layer functions here and the optimizer in @dino-ts/dino use it when the active
 * backend has it, and the composed ops otherwise, so the same code runs on every backend.
 *
 * The contract of each kernel (inputs, attributes, outputs):
 * - DinoAdamW {param, grad, expAvg, expAvgSq} {decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2,
 *   biasCorrection2Sqrt, eps, stepSize} -> [param', expAvg', expAvgSq']
 * - DinoEma {teacher, student} {momentum, oneMinusMomentum} -> teacher'
 * - DinoGelu {x} -> y; DinoGeluGrad {dy, x} -> dx
 * - DinoLayerNorm {x, weight, bias} {eps} -> [y, mean, rstd] (per row of the last axis);
 *   DinoLayerNormGrad {dy, x, weight, mean, rstd} -> [dx, dWeight, dBias]
 * - DinoLinear {x [R, in], weight [out, in], bias [out]} -> x weight^T + bias [R, out], the same
 *   bits as matMul then add (its gradients are those ops' own, composed in nn.ts)
 * - DinoAttention {q [B, Q, Cq], kv [B, N, Ckv]} {numHeads, dim, scale, qColumn, kColumn,
 *   vColumn} -> [B, Q, dim]: softmax(q k^T * scale) v per head, q, k and v the `dim` columns of
 *   their tensor from the given column (head h in columns h*dim/numHeads onwards), the result's
 *   heads side by side; the bits of the composed ops on that backend. Inference only: it has no
 *   gradient, so callers use it where no gradient is recorded (`isRecordingGradients`).
 */
import * as tf from '@tensorflow/tfjs-core';

export const FUSED_KERNELS = {
  adamw: 'DinoAdamW',
  ema: 'DinoEma',
  gelu: 'DinoGelu',
  geluGrad: 'DinoGeluGrad',
  layerNorm: 'DinoLayerNorm',
  layerNormGrad: 'DinoLayerNormGrad',
  linear: 'DinoLinear',
  attention: 'DinoAttention',
} as const;
export type FusedKernelName = (typeof FUSED_KERNELS)[keyof typeof FUSED_KERNELS];

/** True when the active backend has the fused kernel `name` (and DINO_NO_FUSED is not set). */
export function hasFusedKernel(name: FusedKernelName): boolean {
  const backend = tf.engine().backendName;
  if (backend == null) return false;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.DINO_NO_FUSED === '1') return false;
  return tf.getKernel(name, backend) != null;
}

/** Runs fused kernel `name`; its outputs become tensors owned by the caller's scope. */
export function runFused(name: FusedKernelName, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/**
 * True while tfjs records operations for a gradient (inside `tf.grad`, `tf.variableGrads`,
 * `optimizer.minimize`): kernels without a registered gradient must not run then.
 */
export function isRecordingGradients(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}
