/**
 * @dino-ts/backbones: the DINO reference's Vision Transformer (and a convnet) on tfjs, behind one
 * `Backbone` interface and a registry.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { createBackbone } from '@dino-ts/backbones';
 * const vit = createBackbone('vit_small', { patchSize: 8 });
 * const cls = vit.forward(tf.zeros([1, 224, 224, 3])); // [1, 384]
 */
// A value import (not `import type`) so @dino-ts/core's gradient registration always runs first.
import { GRADIENTS_REGISTERED } from '@dino-ts/core';

export const BACKBONES_GRADIENTS_READY: boolean = GRADIENTS_REGISTERED;

export type { Backbone, BackboneFeatures, ForwardOptions } from './types';
export { VIT_DEFAULTS, LAYER_NORM_EPS, resolveVitConfig, dropPathSchedule } from './vit-config';
export type { VitConfig, ResolvedVitConfig } from './vit-config';
export { VisionTransformer } from './vit';
export { BICUBIC_A, bicubicMatrix, posEmbedMatrices, interpolatePosEmbed } from './pos-embed';
export { patchEmbed } from './patch-embed';
export { linear, layerNorm, gelu, dropPath } from './nn';
export { ResNet, RESNET_DEFAULTS, resolveResNetConfig } from './resnet';
export type { ResNetConfig } from './resnet';
export { conv2d, convOutSize } from './conv';
export { batchNorm, BATCH_NORM_DEFAULTS } from './batch-norm';
export type { BatchNormState } from './batch-norm';
export { createBackbone, registerBackbone, listBackbones, VIT_PRESETS, RESNET_PRESETS } from './registry';
export type { BackboneFactory, VitPresetOptions } from './registry';
