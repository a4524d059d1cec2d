/**
 * @dino-ts/head: the DINO projection head (3-layer MLP, L2 normalisation, weight-normalised
 * last layer) with the reference's state-dict names, as a `Module` of @dino-ts/core.
 *
 * ```ts
 * import { DinoHead } from '@dino-ts/head';
 * const head = new DinoHead({ inDim: 384, outDim: 65536 });   // reference defaults otherwise
 * const logits = head.apply(cls, { training: true });          // [B, 65536]
 * ```
 */
/** The head (reference `DINOHead`) and its per-call options (training mode). */
export { DinoHead, type HeadApplyOptions } from './dino-head';
/** The reference defaults, the validation that fills them in, the options and their resolved form. */
export { DINO_HEAD_SETTINGS, DINO_HEAD_DEFAULTS, resolveHeadConfig, type DinoHeadConfig, type ResolvedDinoHeadConfig } from './config';
/** The weight-normalised last layer as a Module (`weight_g`, `weight_v`) and its options. */
export { WeightNormLinear, type WeightNormLinearOptions } from './weight-norm';
/** Layer functions: weight normalisation; row L2 normalisation (the shared one of @dino-ts/core). */
export { weightNorm, l2Normalize } from './weight-norm';
/** Exact GELU and Linear (the shared implementations of @dino-ts/core). */
export { gelu } from './gelu';
export { linear } from './linear';
/** The one BatchNorm of dino-ts (from @dino-ts/core), the head's with `useBn`; PyTorch's eps and momentum. */
export { BatchNorm, BATCH_NORM_DEFAULTS } from '@dino-ts/core';
