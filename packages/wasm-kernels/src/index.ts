/**
 * @dino-ts/wasm-kernels: WebAssembly SIMD kernels that replace the slow stock kernels of
 * tfjs-backend-wasm (transposed and batched matmuls, N-D transposes, ...), running in the
 * backend's own memory so no tensor is copied.
 */
export {
  registerWasmKernels,
  unregisterWasmKernels,
  registeredWasmKernels,
  wasmKernelsInfo,
  WASM_KERNEL_NAMES,
  type WasmKernelName,
  type RegisterOptions,
} from './register';
export { simplifyTranspose } from './kernels/transpose';
export { relaxedSimdSupported, tryEnableRelaxedSimd } from './kernel-module';
export { prepareWasmThreads, cancelPrepareWasmThreads, isSharedMemory } from './shared-memory';
export { defaultThreadCount, threadsUnavailableReason } from './thread-pool';
export { FUSED_KERNEL_NAMES } from './kernels/fused';
export { DEFAULT_PARALLEL_THRESHOLDS, type ParallelThresholds } from './split';
export { WasmOutOfMemoryError } from './wasm-backend';
