/**
 * The few layer functions every network in dino-ts shares (backbones, head, probes), written
 * once. Weights use PyTorch's layouts, so reference state dicts load as they are.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS, hasFusedKernel, runFused } from './fused';

/**
 * `nn.Linear`: y = x W^T + b over the last axis of x (any rank), W in PyTorch's [out, in]
 * layout, through matMul's transposeB flag: free with @dino-ts/wasm-kernels and the native
 * backends (an explicit transpose cost 200 ms a step for a 2048 x 2048 head weight). Only the
 * stock wasm kernels are slow at it, and those are slow at everything a ViT does.
 */
export function linear<T extends tf.Tensor>(x: T, weight: tf.Tensor2D, bias?: tf.Tensor1D): T {
  return tf.tidy(() => {
    const inDim = weight.shape[1];
    const lead = x.shape.slice(0, -1);
    const x2 = x.rank === 2 ? (x as unknown as tf.Tensor2D) : (tf.reshape(x, [-1, inDim]) as tf.Tensor2D);
    // Not tf.fused.matMul: stock tfjs-backend-wasm 4.22 returns wrong values for its
    // transposeB + bias form (caught by the reference fixtures). A backend's DinoLinear adds the
    // bias inside the product instead of in a second pass over the output.
    const fused = bias != null && x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.linear);
    const y = fused ? fusedLinear(x2, weight, bias) : bias ? tf.add(tf.matMul(x2, weight, false, true), bias) : tf.matMul(x2, weight, false, true);
    return (x.rank === 2 ? y : tf.reshape(y, [...lead, weight.shape[0]])) as T;
  });
}

/**
 * `nn.LayerNorm` over the last axis: biased variance, eps inside the square root. One fused
 * kernel forward and one backward where the backend has them (see fused.ts).
 */
export function layerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): T {
  if (x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.layerNorm) && hasFusedKernel(FUSED_KERNELS.layerNormGrad)) {
    return fusedLayerNorm(x, weight, bias, eps) as T;
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, x.rank - 1, true);
    const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(xhat, weight), bias) as T;
  });
}

/**
 * x weight^T + bias through DinoLinear, with the gradients tfjs derives for matMul(x, weight,
 * false, true) + bias, written as the same ops (so the same bits): dx = dy weight,
 * dweight = dy^T x, dbias = the sum of dy over rows.
 */
const fusedLinear = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, weight, bias, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, weight]);
  return {
    value: runFused(FUSED_KERNELS.linear, { x, weight, bias })[0],
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, ws as tf.Tensor2D, false, false),
      tf.matMul(dy as tf.Tensor2D, xs as tf.Tensor2D, true, false),
      tf.reshape(tf.sum(dy, [0]), [ws.shape[0]]),
    ],
  };
}) as (x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;

/** Exact GELU (PyTorch's `nn.GELU()` default, not the tanh form): x Φ(x) = 0.5 x (1 + erf(x / √2)). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (x.dtype === 'float32' && hasFusedKernel(FUSED_KERNELS.gelu) && hasFusedKernel(FUSED_KERNELS.geluGrad)) {
    return fusedGelu(x) as T;
  }
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T);
}

const fusedGelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: runFused(FUSED_KERNELS.gelu, { x })[0],
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => runFused(FUSED_KERNELS.geluGrad, { dy, x: xs })[0],
  };
}) as (x: tf.Tensor) => tf.Tensor;

/** eps is an attribute, not a tensor: one customGrad function per value (a model has one or two). */
const fusedLayerNorms = new Map<number, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

function fusedLayerNorm(x: tf.Tensor, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor {
  let f = fusedLayerNorms.get(eps);
  if (f == null) {
    f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const [y, mean, rstd] = runFused(FUSED_KERNELS.layerNorm, { x: xi, weight: w, bias: b }, { eps });
      save([xi, w, mean, rstd]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xs, ws, ms, rs]: tf.Tensor[]) =>
          runFused(FUSED_KERNELS.layerNormGrad, { dy, x: xs, weight: ws, mean: ms, rstd: rs }),
      };
    }) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    fusedLayerNorms.set(eps, f);
  }
  return f(x, weight, bias);
}

/**
 * `F.normalize(x, p=2, dim=-1, eps)`: each vector along the last axis divided by its L2 norm
 * clamped below at `eps`, x / max(||x||₂, eps), so a zero vector stays zero. Shared by the DINO
 * head (before its weight-normalised layer) and the evaluations (k-NN, label propagation).
 */
export function l2Normalize<T extends tf.Tensor>(x: T, eps = 1e-12): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), eps)) as T);
}
