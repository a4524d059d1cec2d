/**
 * Backend selection for the trainer. The library packages never name a backend; the application
 * picks one here. `auto` prefers the native TensorFlow binding (GPU, then CPU) when it can be
 * imported, else WebAssembly SIMD, which runs anywhere. The native bindings are optional
 * packages: their install script downloads libtensorflow, which not every machine can reach, so
 * they are never in this package's dependencies.
 */
import * as tf from '@tensorflow/tfjs-core';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** The tfjs backend name now active ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  name: string;
  /** Which package provides it. */
  provider: string;
  /** Why it was chosen, in one sentence. */
  reason: string;
}

import { BackendUnavailableError } from './errors';

export { BackendUnavailableError };

const INSTALL_HINT: Record<string, string> = {
  tensorflow:
    'install the native binding with `pnpm add @tensorflow/tfjs-node-gpu` (CUDA 11.2 + cuDNN 8.1) or `pnpm add @tensorflow/tfjs-node` (CPU) in apps/trainer; its install script downloads libtensorflow',
  webgpu: 'install `@tensorflow/tfjs-backend-webgpu` and the `webgpu` package (Dawn bindings for Node)',
  wasm: 'reinstall dependencies (`pnpm install`): @tensorflow/tfjs-backend-wasm is a dependency of the trainer',
  cpu: 'reinstall dependencies (`pnpm install`): @tensorflow/tfjs-backend-cpu is a dependency of the trainer',
};

async function tryImport(name: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ name);
    return true;
  } catch {
    return false;
  }
}

async function activate(name: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok;
  } catch {
    return false;
  }
}

async function tryTensorflow(): Promise<BackendInfo | null> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if ((await tryImport(pkg)) && (await activate('tensorflow'))) {
      return { name: 'tensorflow', provider: pkg, reason: `${pkg} is installed (native TensorFlow${pkg.endsWith('gpu') ? ' with CUDA' : ''})` };
    }
  }
  return null;
}

async function tryWebgpu(): Promise<BackendInfo | null> {
  const g = globalThis as any;
  if (!g.navigator?.gpu) {
    try {
      const pkg = 'webgpu'; // a variable: the package is optional and has no types here
      const webgpu: any = await import(/* @vite-ignore */ pkg);
      Object.assign(g, webgpu.globals ?? {});
      g.navigator = { ...(g.navigator ?? {}), gpu: webgpu.create([]) };
    } catch {
      return null;
    }
  }
  if ((await tryImport('@tensorflow/tfjs-backend-webgpu')) && (await activate('webgpu'))) {
    return { name: 'webgpu', provider: '@tensorflow/tfjs-backend-webgpu', reason: 'WebGPU adapter found' };
  }
  return null;
}

async function useWasm(): Promise<BackendInfo | null> {
  if ((await tryImport('@tensorflow/tfjs-backend-wasm')) && (await activate('wasm'))) {
    // dino-ts's SIMD kernels replace the stock ones that dominate a ViT step (transposed and
    // batched matmuls, transposes, element-wise ops); DINO_STOCK_KERNELS=1 keeps the stock ones.
    if (process.env.DINO_STOCK_KERNELS !== '1') {
      const { registerWasmKernels, tryEnableRelaxedSimd } = await import('@dino-ts/wasm-kernels');
      // Fused multiply-add matrix products where the engine has relaxed SIMD (Node 20: a flag).
      const fma = tryEnableRelaxedSimd();
      const names = await registerWasmKernels();
      return { name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm + @dino-ts/wasm-kernels', reason: `WebAssembly SIMD, runs anywhere; ${names.length} dino-ts SIMD kernels registered${fma ? ' (relaxed-SIMD FMA GEMM)' : ''}` };
    }
    return { name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', reason: 'WebAssembly SIMD, runs anywhere (stock kernels: DINO_STOCK_KERNELS=1)' };
  }
  return null;
}

async function useCpu(): Promise<BackendInfo | null> {
  if ((await tryImport('@tensorflow/tfjs-backend-cpu')) && (await activate('cpu'))) {
    return { name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', reason: 'plain JavaScript (slowest; for debugging)' };
  }
  return null;
}

/**
 * Activates the requested backend and says which one runs and why. Throws
 * BackendUnavailableError (with the install command) when an explicitly requested backend
 * cannot be loaded.
 */
export async function selectBackend(choice: BackendChoice): Promise<BackendInfo> {
  if (choice === 'auto') {
    const native = await tryTensorflow();
    if (native) return { ...native, reason: `auto: ${native.reason}` };
    const wasm = await useWasm();
    if (wasm) {
      return { ...wasm, reason: 'auto: no native TensorFlow binding installed (@tensorflow/tfjs-node-gpu / -node), so WebAssembly SIMD' };
    }
    const cpu = await useCpu();
    if (cpu) return { ...cpu, reason: 'auto: wasm failed to initialise, falling back to cpu' };
    throw new BackendUnavailableError('auto', 'no tfjs backend could be initialised; reinstall dependencies');
  }
  const attempt = { tensorflow: tryTensorflow, webgpu: tryWebgpu, wasm: useWasm, cpu: useCpu }[choice];
  const info = await attempt();
  if (!info) throw new BackendUnavailableError(choice, INSTALL_HINT[choice]);
  return { ...info, reason: `requested with --backend ${choice}: ${info.reason}` };
}
