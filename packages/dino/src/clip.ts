import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber } from '@dino-ts/core';
import { CLIP_EPS } from './defaults';
import { DINO_OPTIM_SETTINGS } from './config';
import type { Grads } from './grads';

/**
 * Per-tensor gradient clipping (reference utils.clip_gradients; not a global norm): each
 * gradient with norm n is scaled by clip / (n + 1e-6) when that is below 1. Replaces the
 * tensors in `grads` in place and returns every norm before clipping, by name.
 *
 * @example
 * ```ts
 * const norms = clipGradients(grads, 3.0);
 * ```
 */
export function clipGradients(grads: Grads, clip: number = DINO_OPTIM_SETTINGS.clipGrad.default): Map<string, number> {
  checkNumber('clip', clip, { min: 0, minExclusive: true });
  const norms = gradientNorms(grads);
  if (!norms) return new Map();
  // A synchronous read: fine on cpu and wasm; GPU backends use clipGradientsAsync.
  const values = norms.dataSync();
  norms.dispose();
  return applyGradientClip(grads, values, clip);
}

/**
 * `clipGradients` with an asynchronous read of the norms, for backends whose tensors live on a
 * GPU (WebGPU cannot read synchronously in Node; elsewhere a sync read stalls the queue).
 */
export async function clipGradientsAsync(grads: Grads, clip: number = DINO_OPTIM_SETTINGS.clipGrad.default): Promise<Map<string, number>> {
  checkNumber('clip', clip, { min: 0, minExclusive: true });
  const norms = gradientNorms(grads);
  if (!norms) return new Map();
  try {
    return applyGradientClip(grads, await norms.data(), clip);
  } finally {
    norms.dispose();
  }
}

/** Every gradient's L2 norm, stacked in `grads`' order (one read-back for all); null when empty. */
export function gradientNorms(grads: Grads): tf.Tensor1D | null {
  const names = [...grads.keys()];
  if (names.length === 0) return null;
  return tf.tidy(() => tf.stack(names.map((n) => tf.norm(grads.get(n)!)))) as tf.Tensor1D;
}

/** The clipping itself, given the norms read back from `gradientNorms` (in `grads`' order). */
export function applyGradientClip(grads: Grads, values: ArrayLike<number>, clip: number): Map<string, number> {
  const norms = new Map<string, number>();
  [...grads.keys()].forEach((name, i) => {
    const norm = values[i];
    norms.set(name, norm);
    const coef = clip / (norm + CLIP_EPS);
    if (coef < 1) {
      const g = grads.get(name)!;
      grads.set(name, tf.mul(g, coef));
      g.dispose();
    }
  });
  return norms;
}

/**
 * Drops (and frees) the gradients of the head's last layer while `epoch < freezeLastLayer`
 * (reference utils.cancel_gradients_last_layer): the paper freezes it during the first epoch,
 * which helps training. The optimizer then skips those parameters entirely.
 */
export function cancelGradientsLastLayer(epoch: number, grads: Grads, freezeLastLayer: number = DINO_OPTIM_SETTINGS.freezeLastLayer.default): void {
  checkInt('epoch', epoch, 0);
  checkInt('freezeLastLayer', freezeLastLayer, 0);
  if (epoch >= freezeLastLayer) return;
  for (const [name, g] of [...grads]) {
    if (name.includes('last_layer')) {
      g.dispose();
      grads.delete(name);
    }
  }
}
