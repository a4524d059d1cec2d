/**
 * Constants of the method that are not settings a user changes (each written once).
 */

/** torch.optim.AdamW defaults used by the reference. */
export const ADAMW_DEFAULTS = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
} as const;

/** Per-tensor gradient clipping adds this to the norm (reference utils.clip_gradients). */
export const CLIP_EPS = 1e-6;
