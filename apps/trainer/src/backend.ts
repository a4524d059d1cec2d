/**
 * Backend selection for the trainer. The library packages never name a backend; the application
 * picks one here. `auto` prefers a GPU: native TensorFlow with CUDA when it is installed and an
 * NVIDIA GPU is visible, then WebGPU on a hardware adapter; then native TensorFlow on the CPU,
 * else WebAssembly SIMD, which runs anywhere. The native bindings are optional packages: their
 * install script downloads libtensorflow, which not every machine can reach, so they are never in
 * this package's dependencies (gpu-backends.ts finds them at run time).
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
  /** Threads its kernels run on, where the backend lets dino-ts choose (wasm). */
  threads?: number;
}

export interface SelectOptions {
  /** Threads for the wasm kernels; default: the cores this process may use. */
  threads?: number;
}

import { BackendUnavailableError } from './errors';
import { probeWebgpu, activateWebgpu, nvidiaStatus, tfjsNodeStatus, activateTensorflow, tensorflowInstallHint } from './gpu-backends';

export { BackendUnavailableError };

const INSTALL_HINT: Record<string, string> = {
  wasm: 'reinstall dependencies (`pnpm install`): @tensorflow/tfjs-backend-wasm is a dependency of the trainer',
  cpu: 'reinstall dependencies (`pnpm install`): @tensorflow/tfjs-backend-cpu is a dependency of the trainer',
};

/** One line for an explicitly requested backend that cannot start: why, and what to do. */
function unavailableHint(choice: BackendChoice): string {
  if (choice === 'tensorflow') {
    const anyInstalled = tfjsNodeStatus('@tensorflow/tfjs-node-gpu').installed || tfjsNodeStatus('@tensorflow/tfjs-node').installed;
    return `${tensorflowFailure}; ${anyInstalled ? 'reinstall it ' : ''}${tensorflowInstallHint(nvidiaStatus().visible)}`;
  }
  if (choice === 'webgpu') {
    const st = probeWebgpu();
    return st.installed ? `${webgpuFailure}; on Linux install a Vulkan or OpenGL driver (NVIDIA's, or Mesa: \`apt-get install -y mesa-vulkan-drivers libegl-mesa0\`)` : st.detail;
  }
  return INSTALL_HINT[choice];
}

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

// The GPU backends (WebGPU through Dawn, native TensorFlow) are set up in gpu-backends.ts.
let tensorflowFailure = '';

/**
 * Native TensorFlow: tfjs-node-gpu when an NVIDIA GPU is visible (or `gpuOnly` is false), then
 * tfjs-node. Null when neither is installed and loads; `tensorflowFailure` says why.
 */
async function tryTensorflow(opts: { gpuOnly?: boolean; cpuOnly?: boolean } = {}): Promise<BackendInfo | null> {
  const nv = nvidiaStatus();
  const why: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
    const gpu = pkg.endsWith('gpu');
    if ((opts.gpuOnly && !gpu) || (opts.cpuOnly && gpu)) continue;
    const s = tfjsNodeStatus(pkg);
    if (!s.installed) {
      why.push(`${pkg} not installed`);
      continue;
    }
    if (gpu && opts.gpuOnly && !nv.visible) {
      why.push(`${pkg} installed but ${nv.detail}`);
      continue;
    }
    const r = await activateTensorflow(pkg);
    if (r.ok) {
      const where = gpu ? (nv.visible ? `with CUDA on ${nv.detail}` : `but ${nv.detail}: TensorFlow runs on the CPU`) : 'native CPU kernels';
      return { name: 'tensorflow', provider: pkg, reason: `${pkg} is installed (native TensorFlow ${where})` };
    }
    why.push(`${pkg} failed to load (${r.error})`);
  }
  tensorflowFailure = why.join('; ');
  return null;
}

let webgpuFailure = '';

/**
 * WebGPU through Dawn. A software adapter (Mesa's llvmpipe and the like) is used only when
 * `allowSoftware` (an explicit --backend webgpu): it gives the same results as a GPU, slower
 * than wasm, so auto never picks it.
 */
async function tryWebgpu(opts: { allowSoftware?: boolean; quick?: boolean } = {}): Promise<BackendInfo | null> {
  const status = probeWebgpu({ quick: opts.quick });
  const adapter = status.hardware ?? (opts.allowSoftware ? status.software : null);
  if (!adapter) {
    webgpuFailure = status.detail;
    return null;
  }
  if (!(await activateWebgpu(adapter))) {
    webgpuFailure = `the adapter (${adapter.name}) did not start the tfjs webgpu backend`;
    return null;
  }
  const api = adapter.api === 'opengl' ? 'OpenGL, compatibility mode' : 'Dawn default backend';
  return {
    name: 'webgpu',
    provider: '@tensorflow/tfjs-backend-webgpu + webgpu (Dawn)',
    reason: adapter.software
      ? `software WebGPU adapter ${adapter.name} (${api}): runs on the CPU, slower than wasm; for checking results`
      : `WebGPU adapter ${adapter.name} (${api})`,
  };
}

async function useWasm(opts: SelectOptions = {}): Promise<BackendInfo | null> {
  if (!(await tryImport('@tensorflow/tfjs-backend-wasm'))) return null;
  // dino-ts's SIMD kernels replace the stock ones that dominate a ViT step (transposed and
  // batched matmuls, transposes, element-wise ops); DINO_STOCK_KERNELS=1 keeps the stock ones.
  const stock = process.env.DINO_STOCK_KERNELS === '1';
  const kernels = stock ? null : await import('@dino-ts/wasm-kernels');
  const threads = opts.threads ?? kernels?.defaultThreadCount() ?? 1;
  // Kernels on several threads share the backend's memory, which must be made shared before
  // the backend starts.
  if (kernels != null && threads > 1) kernels.prepareWasmThreads();
  if (!(await activate('wasm'))) {
    kernels?.cancelPrepareWasmThreads();
    return null;
  }
  if (kernels == null) {
    return { name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', reason: 'WebAssembly SIMD, runs anywhere (stock kernels: DINO_STOCK_KERNELS=1)', threads: 1 };
  }
  // Fused multiply-add matrix products where the engine has relaxed SIMD (Node 20: a flag).
  const fma = kernels.tryEnableRelaxedSimd();
  let used = threads;
  let note = '';
  let names: string[];
  try {
    names = await kernels.registerWasmKernels({ threads });
  } catch (e) {
    if (threads === 1) throw e;
    // Threads unavailable here (the reason says why): the same kernels on one thread.
    used = 1;
    note = `; one thread: ${(e as Error).message}`;
    names = await kernels.registerWasmKernels({ threads: 1 });
  }
  return {
    name: 'wasm',
    provider: '@tensorflow/tfjs-backend-wasm + @dino-ts/wasm-kernels',
    reason: `WebAssembly SIMD, runs anywhere; ${names.length} dino-ts SIMD kernels on ${used} thread${used === 1 ? '' : 's'}${fma ? ' (relaxed-SIMD fused multiply-adds)' : ''}${note}`,
    threads: used,
  };
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
export async function selectBackend(choice: BackendChoice, opts: SelectOptions = {}): Promise<BackendInfo> {
  if (choice === 'auto') {
    // A GPU first (CUDA TensorFlow, then a hardware WebGPU adapter), then native TensorFlow on
    // the CPU, then WebAssembly.
    const cuda = await tryTensorflow({ gpuOnly: true });
    if (cuda) return { ...cuda, reason: `auto: ${cuda.reason}` };
    const noCuda = tensorflowFailure;
    const webgpu = await tryWebgpu({ quick: true });
    if (webgpu) return { ...webgpu, reason: `auto: ${webgpu.reason}` };
    const native = await tryTensorflow({ cpuOnly: true });
    if (native) return { ...native, reason: `auto: ${native.reason}` };
    const wasm = await useWasm(opts);
    if (wasm) {
      return { ...wasm, reason: `auto: no GPU backend (${noCuda}; webgpu: ${webgpuFailure}) and no native TensorFlow, so ${wasm.reason}` };
    }
    const cpu = await useCpu();
    if (cpu) return { ...cpu, reason: 'auto: wasm failed to initialise, falling back to cpu' };
    throw new BackendUnavailableError('auto', 'no tfjs backend could be initialised; reinstall dependencies');
  }
  const attempt = { tensorflow: () => tryTensorflow(), webgpu: () => tryWebgpu({ allowSoftware: true }), wasm: () => useWasm(opts), cpu: useCpu }[choice];
  const info = await attempt();
  if (!info) throw new BackendUnavailableError(choice, unavailableHint(choice));
  return { ...info, reason: `requested with --backend ${choice}: ${info.reason}` };
}
