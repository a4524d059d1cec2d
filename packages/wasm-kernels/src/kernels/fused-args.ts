/**
 * What every fused kernel starts from: the kernels' names (the same strings as @dino-ts/core's
 * FUSED_KERNELS; a test checks) and the check of the backend and dtypes.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from '../wasm-backend';
import { moduleFor } from '../state';
import type { KernelModule } from '../kernel-module';

/** The fused kernels' names. */
export const FUSED_KERNEL_NAMES = {
  adamw: 'DinoAdamW',
  ema: 'DinoEma',
  gelu: 'DinoGelu',
  geluGrad: 'DinoGeluGrad',
  layerNorm: 'DinoLayerNorm',
  layerNormGrad: 'DinoLayerNormGrad',
  linear: 'DinoLinear',
  attention: 'DinoAttention',
} as const;

export type Backend = WasmBackendLike & { disposeData(dataId: object): void };

/** The kernel module bound to `backend`, with every input checked to be float32. */
export function need(backend: unknown, name: string, inputs: TensorInfo[]): { mod: KernelModule; backend: Backend } {
  const mod = moduleFor(backend);
  if (mod == null) throw new Error(`wasm-kernels: ${name} runs only on the wasm backend the kernels were registered on`);
  for (const t of inputs) {
    if (t.dtype !== 'float32') throw new Error(`wasm-kernels: ${name} takes float32 tensors, got ${t.dtype}`);
  }
  return { mod, backend: backend as Backend };
}
