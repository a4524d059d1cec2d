import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@dino-ts/core';

/** Gradients by parameter name (the reference's names, not tfjs variable names). */
export type Grads = Map<string, tf.Tensor>;

/**
 * Value and gradients of the scalar `f` with respect to the trainable parameters in `params`,
 * keyed by parameter name. Parameters `f` does not reach get no entry (PyTorch's grad None).
 */
export function namedGrads(f: () => tf.Scalar, params: Params): { value: tf.Scalar; grads: Grads } {
  const vars: tf.Variable[] = [];
  const nameOf = new Map<string, string>();
  for (const [name, v] of params) {
    if (!v.trainable) continue;
    vars.push(v);
    nameOf.set(v.name, name);
  }
  const { value, grads } = tf.variableGrads(f, vars);
  const out: Grads = new Map();
  for (const [varName, g] of Object.entries(grads)) out.set(nameOf.get(varName)!, g);
  return { value, grads: out };
}

/** acc += grads, in place (disposing what it replaces and the added gradients). */
export function accumulateGrads(acc: Grads, grads: Grads): void {
  for (const [name, g] of grads) {
    const prev = acc.get(name);
    if (!prev) {
      acc.set(name, g);
      continue;
    }
    acc.set(name, tf.add(prev, g));
    prev.dispose();
    g.dispose();
  }
}

export function disposeGrads(grads: Grads): void {
  for (const g of grads.values()) g.dispose();
  grads.clear();
}
