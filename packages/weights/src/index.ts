/**
 * @dino-ts/weights: published DINO weights read from the file itself, with no Python, and
 * PyTorch files written for `torch.load(weights_only=True)`. Browser-safe: everything takes and
 * returns bytes.
 *
 * ```ts
 * import { loadVisionTransformer } from '@dino-ts/weights';
 * const vit = loadVisionTransformer(bytes);            // dino_deitsmall16_pretrain.pth, ...
 * const cls = vit.forward(images);                     // [B, 384]
 * ```
 */
// A value import so @dino-ts/core's gradient registration runs first, as in every package.
import { GRADIENTS_REGISTERED } from '@dino-ts/core';

/** True once @dino-ts/core's gradient functions are registered (always, on import). */
export const WEIGHTS_GRADIENTS_READY: boolean = GRADIENTS_REGISTERED;

// The entry points: any weights file -> reference-named tensors -> a loaded ViT.
/** Read any supported file; build and load a ViT from it. */
export { readWeights, loadVisionTransformer } from './weights';
export type { ReadWeightsOptions, LoadVitOptions, WeightsFile, WeightsFormat, CheckpointKey, NumHeadsSource } from './weights';

// Architecture from shapes.
/** ViT and DINO-head configurations read off tensor shapes; the published head size (64). */
export { inferVitArchitecture, inferDinoHeadConfig, HEAD_DIM } from './arch';
export type { VitArchitecture, InferVitOptions, DinoHeadArchitecture } from './arch';

// Names.
/** Reference <-> other namings (DDP / MultiCropWrapper prefixes, Hugging Face ViT). */
export { toReferenceNames, fromHuggingFaceNames, toHuggingFaceNames, isHuggingFaceNaming } from './names';
export type { WeightsNaming, MappedWeights } from './names';

// PyTorch files.
/** torch.save files (zip and legacy) read into plain values; written for weights_only loading. */
export { readPth, writePth, isLegacyPth } from './pth';
export type { ReadPthOptions, PthFile, WritePthOptions, PthFloatDtype } from './pth';
/** The data-only pickle machine (no code runs; only an allow-list of globals). */
export { unpickle, unpickleAt } from './pickle';
export type { UnpickleOptions, UnpickleResult } from './pickle';
/** Python values in JavaScript. */
export { PickleTuple, PyFloat, isNamedArray } from './values';
export type { PickleValue, PickleKey, PickleDict, PickleObject } from './values';
/** Helpers for writing checkpoints: flat names split by prefix into nested dicts. */
export { nestByPrefix, stateDict } from './helpers';

// Scale out and back: main_dino.py's checkpoint.pth <-> dino-ts trainer state.
/** Read and write the reference's training checkpoint (student, teacher, AdamW, epoch, center). */
export { readReferenceCheckpoint, writeReferenceCheckpoint } from './reference-checkpoint';
export type { ParamGroupNames, ReferenceCheckpointState, WriteReferenceCheckpointOptions } from './reference-checkpoint';

// The zip container.
/** The checked zip reader torch files go through, its limits, and CRC-32. */
export { ZipReader, ZIP_LIMITS, isZip, crc32 } from './zip';
export type { ZipLimits, ZipEntry } from './zip';
