/**
 * @dino-ts/head: the DINO projection head (3-layer MLP, L2 normalisation, weight-normalised
 * last layer) with the reference's state-dict names.
 *
 * ```ts
 * import { DinoHead } from '@dino-ts/head';
 * const head = new DinoHead({ inDim: 384, outDim: 65536 });   // reference defaults otherwise
 * const logits = head.apply(cls, { training: true });          // [B, 65536]
 * ```
 */
export { DinoHead, type HeadApplyOptions } from './dino-head';
export { DINO_HEAD_DEFAULTS, resolveHeadConfig, type DinoHeadConfig, type ResolvedDinoHeadConfig } from './config';
export { gelu } from './gelu';
export { linear } from './linear';
export { weightNorm, l2Normalize } from './weight-norm';
export { batchNormTrain, batchNormEval, BATCH_NORM_EPS, BATCH_NORM_MOMENTUM, type BatchNormStats } from './batch-norm';
