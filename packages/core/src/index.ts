import './gradients';

export { GRADIENTS_REGISTERED, GRADIENT_KERNELS, registerGradients } from './gradients';
export * from './errors';
export * from './rng';
export * from './safetensors';
export * from './params';
export * from './nn';
export { float16ToFloat32Array, bfloat16ToFloat32Array, float32ToFloat16Array } from './float16';
export * from './settings';
export { Module, ModuleList, isModule, asModule, type ModuleLike } from './module';
export { Linear, LayerNorm, type LinearOptions, type LayerNormOptions } from './layers';
export { BatchNorm, BATCH_NORM_DEFAULTS, type BatchNormOptions } from './batch-norm';
export { FUSED_KERNELS, hasFusedKernel, isRecordingGradients, runFused, type FusedKernelName } from './fused';
