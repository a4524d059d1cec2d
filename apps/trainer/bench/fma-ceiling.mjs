// The arithmetic ceiling of WebAssembly SIMD on this machine: a loop of 12 independent 128-bit
// fused multiply-adds (relaxed SIMD's f32x4.relaxed_madd, what the dino-ts GEMM's inner loop
// issues), no memory traffic, on 1..T threads at once: two a cycle on this project's machine. A
// matrix product in wasm cannot do much better (the dino-ts GEMM measures 97-104% of it), so it
// is the yardstick for the GFLOP/s `pnpm bench` reports. Both cores busy run at a lower clock
// than one, so the two-thread figure is under twice the one-thread one.
// The module is this C, built with
//   clang --target=wasm32 -O3 -msimd128 -mrelaxed-simd -nostdlib -Wl,--no-entry -Wl,--strip-all
//
//   #include <wasm_simd128.h>
//   #define FMA(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c))
//   __attribute__((export_name("peak"))) float peak(int n, float s) {
//     v128_t b = wasm_f32x4_splat(s), c = wasm_f32x4_splat(0.999f);  /* a += c * b */
//     v128_t a0 = b, a1 = b, ..., a11 = b;
//     for (int i = 0; i < n; i++) { a0 = FMA(c, b, a0); ... a11 = FMA(c, b, a11); }
//     return the lane-0 sum of a0..a11 (so the loop is not removed);
//   }
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

const PEAK_WASM_BASE64 = 'AGFzbQEAAAABBwFgAn99AX0DAgEABAUBcAEBAQUDAQACBggBfwFBgIgECwcRAgZtZW1vcnkCAARwZWFrAAAKmQUBlgUDDXsBfwF7IAH9EyECAkACQCAAQQFODQAgAiEDIAIhBCACIQUgAiEGIAIhByACIQggAiEJIAIhCiACIQsgAiEMIAIhDSACIQ4MAQsgAEEBcSEPIAIhDiACIQ0gAiEMIAIhCyACIQogAiEJIAIhCCACIQcgAiEGIAIhBSACIQQgAiEDAkAgAEEBRg0AIABB/v///wdxIQAgAiEOIAIhDSACIQwgAiELIAIhCiACIQkgAiEIIAIhByACIQYgAiEFIAIhBCACIQMDQP0Md75/P3e+fz93vn8/d75/PyIQIAIgECACIA39hQL9hQIhDSAQIAIgECACIAz9hQL9hQIhDCAQIAIgECACIAv9hQL9hQIhCyAQIAIgECACIAr9hQL9hQIhCiAQIAIgECACIAn9hQL9hQIhCSAQIAIgECACIAj9hQL9hQIhCCAQIAIgECACIAf9hQL9hQIhByAQIAIgECACIAb9hQL9hQIhBiAQIAIgECACIAX9hQL9hQIhBSAQIAIgECACIAT9hQL9hQIhBCAQIAIgECACIAP9hQL9hQIhAyAQIAIgECACIA79hQL9hQIhDiAAQX5qIgANAAsLIA9FDQD9DHe+fz93vn8/d75/P3e+fz8iECACIA39hQIhDSAQIAIgDP2FAiEMIBAgAiAL/YUCIQsgECACIAr9hQIhCiAQIAIgCf2FAiEJIBAgAiAI/YUCIQggECACIAf9hQIhByAQIAIgBv2FAiEGIBAgAiAF/YUCIQUgECACIAT9hQIhBCAQIAIgA/2FAiEDIBAgAiAO/YUCIQ4LIAogC/3kASAMIA395AH95AEgBiAH/eQBIAggCf3kAf3kASAEIAX95AEgAyAO/eQB/eQB/eQB/eQB/R8ACw==';
/** Loop trips per thread: 12 multiply-adds of 4 lanes each, about 60 ms at two a cycle and 4 GHz. */
const TRIPS = 40_000_000;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const v8 = require('node:v8');
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(workerData.b64, 'base64')), {});
const flag = new Int32Array(workerData.flag);
instance.exports.peak(100000, 1); // compiled and warm
parentPort.postMessage('ready');
Atomics.wait(flag, 0, 0);
const t0 = performance.now();
instance.exports.peak(workerData.trips, 1e-3);
parentPort.postMessage(performance.now() - t0);
`;

/**
 * GFLOP/s (2 per lane per multiply-add) of `threads` threads running the loop at the same time,
 * the best of `repeats` runs: all threads start together and the slowest one's time counts.
 */
export async function fmaCeiling(threads, repeats = 3) {
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const flag = new SharedArrayBuffer(4);
    const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { b64: PEAK_WASM_BASE64, trips: TRIPS, flag } }));
    await Promise.all(workers.map((w) => once(w, 'message'))); // ready: compiled, waiting on the flag
    const times = workers.map((w) => once(w, 'message'));
    Atomics.store(new Int32Array(flag), 0, 1);
    Atomics.notify(new Int32Array(flag), 0);
    const ms = Math.max(...(await Promise.all(times)).map(([t]) => t));
    await Promise.all(workers.map((w) => w.terminate()));
    best = Math.max(best, (threads * TRIPS * 12 * 4 * 2) / ms / 1e6);
  }
  return best;
}

// `node fma-ceiling.mjs <threads>`: one JSON line, as measure.mjs prints.
if (import.meta.url === `file://${process.argv[1]}`) {
  const threads = Number(process.argv[2] ?? 1);
  const gflops = await fmaCeiling(threads);
  console.log(JSON.stringify({ name: 'fma-ceiling', impl: 'wasm SIMD multiply-add loop', backend: 'wasm', threads, gflops: +gflops.toFixed(1) }));
}
