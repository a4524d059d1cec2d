/**
 * @dino-ts/backbones: the DINO reference's Vision Transformer (and a convnet) on tfjs, behind one
 * `Backbone` interface and a registry. The networks are `Module`s (@dino-ts/core) built from
 * replaceable parts.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { createBackbone } from '@dino-ts/backbones';
 * const vit = createBackbone('vit_small', { patchSize: 8 });
 * const cls = vit.forward(tf.zeros([1, 224, 224, 3])); // [1, 384]
 */
// A value import (not `import type`) so @dino-ts/core's gradient registration always runs first.
import { GRADIENTS_REGISTERED } from '@dino-ts/core';

/** True once @dino-ts/core's gradient functions are registered (always, on import). */
export const BACKBONES_GRADIENTS_READY: boolean = GRADIENTS_REGISTERED;

// The contract every backbone satisfies (what the trainer, head and evaluations rely on).
/** `Backbone`: the interface; `BackboneFeatures`: CLS + patch tokens; `ForwardOptions`: training, rng. */
export type { Backbone, BackboneFeatures, ForwardOptions } from './types';

// Creating backbones by name.
/** Build a registered backbone by name, add one, list them; the preset sizes. */
export { createBackbone, registerBackbone, listBackbones, VIT_PRESETS, RESNET_PRESETS } from './registry';
/** A registry factory `(opts, name) => Backbone`; the options a ViT preset leaves free. */
export type { BackboneFactory, VitPresetOptions } from './registry';

// The Vision Transformer and its configuration.
/** The reference ViT (a Module: cls_token, pos_embed, patch_embed, blocks, norm). */
export { VisionTransformer } from './vit';
/** ViT defaults, LayerNorm eps 1e-6, config validation, the per-block drop-path rates. */
export { VIT_DEFAULTS, LAYER_NORM_EPS, resolveVitConfig, dropPathSchedule } from './vit-config';
/** ViT options (sizes, and the part factories attnLayer / mlpLayer / normLayer / blockFn); resolved form. */
export type { VitConfig, ResolvedVitConfig } from './vit-config';

// The ViT's replaceable parts (the defaults of VitConfig's factories) and their contracts.
/** Multi-head self-attention (`qkv`, `proj`): the default `attnLayer`. */
export { Attention } from './attention';
/** What an attention factory gets, what an attention layer must do, the factory type. */
export type { AttentionOptions, AttentionLayer, AttentionFactory } from './attention';
/** fc1 - GELU - fc2: the default `mlpLayer`. */
export { Mlp } from './mlp';
/** What an MLP factory gets, what an MLP layer must do, the factory type. */
export type { MlpOptions, MlpLayer, MlpFactory } from './mlp';
/** The pre-norm block (`norm1`, `attn`, `norm2`, `mlp`, drop path): the default `blockFn`. */
export { Block } from './block';
/** Block factory options, per-call options, the block and norm-layer contracts and factory types. */
export type { BlockOptions, BlockForwardOptions, BlockLayer, BlockFactory, NormLayer, NormLayerFactory } from './block';
/** Patch embedding as a Module (`proj.weight`, `proj.bias`) and as a function. */
export { PatchEmbed, patchEmbed } from './patch-embed';
/** Options of `PatchEmbed`. */
export type { PatchEmbedOptions } from './patch-embed';
/** Position-embedding interpolation exactly as the reference's bicubic `F.interpolate`. */
export { BICUBIC_A, bicubicMatrix, posEmbedMatrices, interpolatePosEmbed } from './pos-embed';
/** Layer functions: Linear, LayerNorm, exact GELU (from @dino-ts/core), stochastic depth. */
export { linear, layerNorm, gelu, dropPath, residualDropPath } from './nn';

// The convnet.
/** torchvision-layout ResNet (basic blocks) and its BasicBlock module; defaults and validation. */
export { ResNet, BasicBlock, RESNET_DEFAULTS, resolveResNetConfig } from './resnet';
/** ResNet options (layers, width, inChans, smallInput, imgSize, seed); resolved form. */
export type { ResNetConfig, ResolvedResNetConfig } from './resnet';
/** Convolution as a Module (PyTorch names and layout) and as an im2col function; output size. */
export { Conv2d, conv2d, convOutSize } from './conv';
/** Options of `Conv2d` (stride, padding, bias, init). */
export type { Conv2dOptions } from './conv';
/** The one BatchNorm of dino-ts (from @dino-ts/core), which the ResNet uses; PyTorch's eps and momentum. */
export { BatchNorm, BATCH_NORM_DEFAULTS } from '@dino-ts/core';
