/**
 * The compute backend of a worker: tfjs-backend-wasm with the dino-ts SIMD kernels where the
 * browser can, and the best of what is there where it cannot. Runs in a worker (both workers call
 * it once).
 *
 * Engines:
 * - 'dino' (the default): the single-threaded SIMD build of tfjs-backend-wasm with the dino-ts
 *   kernels registered over the stock ones (about 10x faster for a ViT training step). The
 *   kernels run in the backend's own memory and cannot attach to the multi-threaded build's
 *   shared memory, so threads are switched off for this engine; the page gets its parallelism
 *   from its two workers instead (inference and training run at the same time).
 * - 'stock': tfjs-backend-wasm as it comes, multi-threaded (XNNPACK) when the page is
 *   cross-origin isolated: the baseline to compare with.
 *
 * Fallbacks: no SIMD -> the plain wasm build, stock kernels; no WebAssembly at all -> tfjs's
 * JavaScript CPU backend. Each is reported as a note the page shows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels, relaxedSimdSupported, wasmKernelsInfo } from '@dino-ts/wasm-kernels';
import type { BackendReport, Capabilities, InitArgs } from './protocol';

/** What this browser's WebAssembly supports (the wasm backend's own probes, and relaxed SIMD). */
export async function detectCapabilities(): Promise<Capabilities> {
  const scope = self as unknown as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const wasm = typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function';
  const simd = wasm && (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = wasm && (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  const relaxedSimd = simd && (await relaxedSimdSupported());
  return {
    wasm,
    simd,
    relaxedSimd,
    threads,
    crossOriginIsolated: scope.crossOriginIsolated === true,
    cores: scope.navigator?.hardwareConcurrency ?? 1,
  };
}

/** Starts the backend for `engine`; returns what runs and a note for every fallback taken. */
export async function initBackend({ engine, wasmUrl }: InitArgs): Promise<BackendReport> {
  const started = performance.now();
  const capabilities = await detectCapabilities();
  const notes: string[] = [];
  const report = (r: Omit<BackendReport, 'capabilities' | 'notes' | 'initMs' | 'engine'>): BackendReport => ({
    ...r,
    engine,
    capabilities,
    notes,
    initMs: performance.now() - started,
  });

  if (!capabilities.wasm) {
    // No WebAssembly (old browsers, some locked-down modes): tfjs's JavaScript kernels still work.
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('neither WebAssembly nor the JavaScript CPU backend could start');
    notes.push('WebAssembly is not available in this browser: everything runs on tfjs\'s JavaScript CPU backend, 10-100x slower.');
    return report({ backend: 'cpu', binary: 'none', kernels: 0, relaxedSimdGemm: false, threads: 1 });
  }

  setWasmPaths(wasmUrl);
  const threaded = engine === 'stock' && capabilities.threads && capabilities.simd;
  if (threaded) setThreadsCount(Math.max(1, capabilities.cores));
  // The backend picks its multi-threaded build whenever the browser can; the dino-ts kernels need
  // the single-threaded one (see above).
  else tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend failed to start (were the .wasm files served?)');
  await tf.ready();

  let kernels = 0;
  let relaxedSimdGemm = false;
  if (engine === 'dino') {
    if (capabilities.simd) {
      kernels = (await registerWasmKernels()).length;
      relaxedSimdGemm = wasmKernelsInfo()?.relaxedSimd === true;
    } else {
      notes.push('WebAssembly SIMD is missing: the dino-ts kernels need it, so the stock kernels of the plain wasm build run (a training step about 10x slower). Chrome 91+, Firefox 89+ and Safari 16.4+ have SIMD.');
    }
  }
  if (capabilities.simd && !capabilities.relaxedSimd) {
    notes.push('Relaxed SIMD is missing: matrix products use the SIMD128 kernels instead of fused multiply-add (about 1.4x slower). Chrome 114+ has it.');
  }
  if (!capabilities.threads) {
    notes.push(
      capabilities.crossOriginIsolated
        ? 'WebAssembly threads are not supported here: the stock engine runs on one thread (the dino-ts kernels are single-threaded anyway).'
        : 'The page is not cross-origin isolated (no COOP/COEP headers), so WebAssembly threads are off: the stock engine runs on one thread. The dino-ts kernels are single-threaded anyway; the two workers still use two cores.',
    );
  }
  return report({
    backend: tf.getBackend(),
    binary: threaded ? 'threaded-simd' : capabilities.simd ? 'simd' : 'plain',
    kernels,
    relaxedSimdGemm,
    threads: threaded ? getThreadsCount() : 1,
  });
}
