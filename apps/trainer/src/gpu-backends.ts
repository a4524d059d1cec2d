/**
 * The GPU backends of the trainer, in one place: WebGPU in Node (the `webgpu` package's Dawn
 * bindings under `@tensorflow/tfjs-backend-webgpu`) and native TensorFlow
 * (`@tensorflow/tfjs-node-gpu` / `@tensorflow/tfjs-node`). Every one of these packages is
 * optional: nothing here imports them statically, and each probe says why a backend cannot run.
 *
 * WebGPU adapters are enumerated in a child process: Dawn and the Vulkan loader print driver
 * warnings straight to stderr, and a broken driver can crash the process that loads it; a probe
 * of its own keeps both away from a training run that ends up on wasm. Only the adapter that is
 * chosen is opened in this process.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** Renderers that run on the CPU: Mesa's llvmpipe / lavapipe / softpipe, SwiftShader, WARP. */
export const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render/i;

export const TFJS_NODE_VERSION = '4.22.0';

/** One WebGPU adapter as the probe saw it. */
export interface AdapterSummary {
  /** Dawn's backend: 'default' (Vulkan on Linux, Metal, D3D12) or 'opengl' (compatibility mode). */
  api: 'default' | 'opengl';
  /** Vendor, architecture, device and driver description, as one line. */
  name: string;
  /** A CPU renderer (see SOFTWARE_ADAPTER): fine for checking results, slower than wasm. */
  software: boolean;
  /** Whether the adapter offers `shader-f16` (half-precision arithmetic and storage in WGSL). */
  f16: boolean;
  maxBufferSize: number;
}

export interface WebgpuStatus {
  /** `webgpu` and `@tensorflow/tfjs-backend-webgpu` both resolve. */
  installed: boolean;
  hardware: AdapterSummary | null;
  software: AdapterSummary | null;
  /** One sentence: what was found, or why nothing was. */
  detail: string;
}

function resolves(pkg: string): string | null {
  try {
    return require.resolve(pkg);
  } catch {
    return null;
  }
}

/** The directory of an installed package, found from its package.json (null when absent). */
function packageDir(pkg: string): string | null {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    const main = resolves(pkg);
    if (!main) return null;
    // No package.json export: walk up from the main file.
    let d = dirname(main);
    while (d !== dirname(d) && !existsSync(join(d, 'package.json'))) d = dirname(d);
    return d;
  }
}

// The probe, run by a fresh Node: it opens Dawn's default backend (Vulkan on Linux), and when
// that gives no hardware adapter, OpenGL in compatibility mode (how Mesa's llvmpipe is reached:
// Dawn rejects the lavapipe Vulkan driver of Debian 12). One JSON line on stdout.
const PROBE = `
const url = process.argv[process.argv.length - 1];
const SOFT = ${SOFTWARE_ADAPTER.toString()};
const out = [];
const { create } = await import(url);
async function tryOne(api, flags, featureLevel) {
  try {
    const gpu = create(flags);
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance', ...(featureLevel ? { featureLevel } : {}) });
    if (!a) { out.push({ api, error: 'no adapter' }); return; }
    const i = a.info ?? {};
    const name = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ').replace(/\\s+/g, ' ').trim() || 'unnamed adapter';
    out.push({ api, name, software: SOFT.test(name) || i.isFallbackAdapter === true, f16: a.features.has('shader-f16'), maxBufferSize: Number(a.limits.maxBufferSize) });
  } catch (e) { out.push({ api, error: String(e && e.message || e).split('\\n')[0] }); }
}
await tryOne('default', [], undefined);
if (!out.some((a) => a.name && !a.software)) await tryOne('opengl', ['backend=opengl'], 'compatibility');
process.stdout.write('\\n' + JSON.stringify(out) + '\\n');
process.exit(0);
`;

/** A GPU device node that a hardware adapter needs on Linux (DRM render node or NVIDIA's). */
export function gpuDeviceNodes(): string[] {
  const nodes: string[] = [];
  try {
    for (const f of readdirSync('/dev/dri')) if (f.startsWith('renderD') || f.startsWith('card')) nodes.push(`/dev/dri/${f}`);
  } catch {
    /* no DRM devices */
  }
  if (existsSync('/dev/nvidia0')) nodes.push('/dev/nvidia0');
  return nodes;
}

let probed: WebgpuStatus | null = null;

/**
 * Which WebGPU adapters this machine has (cached for the process). `quick`: on Linux, when no
 * GPU device node exists, no hardware adapter can, so the probe's child process is skipped and
 * no software adapter is looked for either (what `--backend auto` needs).
 */
export function probeWebgpu(opts: { quick?: boolean } = {}): WebgpuStatus {
  if (probed) return probed;
  const webgpuMain = resolves('webgpu');
  const backendMain = resolves('@tensorflow/tfjs-backend-webgpu');
  if (!webgpuMain || !backendMain) {
    const missing = [!webgpuMain && 'webgpu', !backendMain && `@tensorflow/tfjs-backend-webgpu@${TFJS_NODE_VERSION}`].filter(Boolean).join(' and ');
    return { installed: false, hardware: null, software: null, detail: `not installed (${missing}): pnpm --filter @dino-ts/trainer add webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@${TFJS_NODE_VERSION}` };
  }
  if (opts.quick && process.platform === 'linux' && gpuDeviceNodes().length === 0) {
    return { installed: true, hardware: null, software: null, detail: 'no GPU device node (/dev/dri/*, /dev/nvidia0), so no hardware adapter' };
  }
  const env = { ...process.env, EGL_PLATFORM: process.env.EGL_PLATFORM ?? 'surfaceless' };
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE, pathToFileURL(webgpuMain).href], { env, encoding: 'utf8', timeout: 60_000 });
  const line = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('[')).pop();
  if (!line) {
    const why = r.error ? r.error.message : `the probe exited with ${r.status ?? r.signal}`;
    probed = { installed: true, hardware: null, software: null, detail: `Dawn could not enumerate adapters (${why})` };
    return probed;
  }
  const found = JSON.parse(line) as Array<AdapterSummary & { error?: string }>;
  const ok = found.filter((a) => !a.error);
  const hardware = ok.find((a) => !a.software) ?? null;
  const software = ok.find((a) => a.software) ?? null;
  const errors = found.filter((a) => a.error).map((a) => `${a.api === 'opengl' ? 'OpenGL' : 'default backend'}: ${a.error}`);
  const detail = hardware
    ? `hardware adapter: ${hardware.name}`
    : software
      ? `only a software adapter: ${software.name} (${software.api === 'opengl' ? 'OpenGL, compatibility mode' : 'default backend'}; runs on the CPU)`
      : `no adapter (${errors.join('; ') || 'none found'})`;
  probed = { installed: true, hardware, software, detail };
  return probed;
}

// The Dawn instance and adapter in use; held so that they live as long as the backend.
let activeGpu: { gpu: unknown; adapter: any; summary: AdapterSummary } | null = null;

/** The adapter the webgpu backend runs on in this process, or null. */
export function activeWebgpuAdapter(): AdapterSummary | null {
  return activeGpu?.summary ?? null;
}

/**
 * Opens `summary`'s adapter in this process, makes it the one `navigator.gpu` hands out (the
 * tfjs backend asks `navigator.gpu` for its adapter, and checks it at import), and activates the
 * `webgpu` tfjs backend. Returns false when it cannot start.
 */
export async function activateWebgpu(summary: AdapterSummary): Promise<boolean> {
  if (activeGpu && tf.findBackend('webgpu')) return tf.setBackend('webgpu');
  const webgpuMain = resolves('webgpu');
  if (!webgpuMain) return false;
  if (summary.api === 'opengl' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
  const g = globalThis as any;
  try {
    const webgpu: any = await import(/* @vite-ignore */ pathToFileURL(webgpuMain).href);
    // GPUBufferUsage, GPUMapMode, ...: the constants a browser defines, which the tfjs backend reads.
    for (const [k, v] of Object.entries(webgpu.globals ?? {})) if (!(k in g)) g[k] = v;
    const gpu = webgpu.create(summary.api === 'opengl' ? ['backend=opengl'] : []);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', ...(summary.api === 'opengl' ? { featureLevel: 'compatibility' } : {}) });
    if (!adapter) return false;
    const shim = {
      requestAdapter: async () => adapter,
      getPreferredCanvasFormat: () => 'rgba8unorm',
      wgslLanguageFeatures: gpu.wgslLanguageFeatures ?? new Set(),
    };
    if (g.navigator && typeof g.navigator === 'object') Object.defineProperty(g.navigator, 'gpu', { value: shim, configurable: true, writable: true });
    else Object.defineProperty(g, 'navigator', { value: { gpu: shim }, configurable: true, writable: true });
    activeGpu = { gpu, adapter, summary };
    const mod: any = await import('@tensorflow/tfjs-backend-webgpu');
    // Imported earlier without navigator.gpu, the package registered nothing: register it here,
    // with the limits its own registration asks for.
    if (!tf.findBackendFactory('webgpu')) {
      tf.registerBackend('webgpu', async () => {
        const l = adapter.limits;
        const device = await adapter.requestDevice({
          requiredLimits: {
            maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
            maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
            maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
            maxBufferSize: l.maxBufferSize,
            maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
            maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
          },
        });
        return new mod.WebGPUBackend(device, adapter.info);
      }, 3);
    }
    const ok = await tf.setBackend('webgpu');
    if (ok) await tf.ready();
    return ok;
  } catch {
    return false;
  }
}

/** Whether an NVIDIA GPU and its driver are visible, and how that was seen. */
export interface NvidiaStatus {
  visible: boolean;
  /** What was found: the GPU names from nvidia-smi, the driver version, or what is missing. */
  detail: string;
}

export function nvidiaStatus(): NvidiaStatus {
  const seen: string[] = [];
  try {
    const v = readFileSync('/proc/driver/nvidia/version', 'utf8').split('\n')[0];
    const m = /Kernel Module\s+([\d.]+)/.exec(v);
    seen.push(`driver ${m ? m[1] : 'loaded'}`);
  } catch {
    /* no NVIDIA kernel module */
  }
  const dev = existsSync('/dev/nvidia0');
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 15_000 });
  const names = smi.status === 0 ? smi.stdout.split('\n').map((s) => s.trim()).filter(Boolean) : [];
  if (names.length) seen.unshift(names.join('; '));
  if (names.length || (dev && seen.length)) return { visible: true, detail: seen.join(', ') };
  const missing = [dev ? null : '/dev/nvidia0', seen.length ? null : '/proc/driver/nvidia', names.length ? null : 'nvidia-smi'].filter(Boolean);
  return { visible: false, detail: `no NVIDIA GPU visible (no ${missing.join(', no ')})` };
}

/** Whether the CUDA 11 runtime and cuDNN 8 that tfjs-node-gpu 4.x links against can be found. */
export function cudaLibraries(): { cudart: boolean; cudnn: boolean } {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8', timeout: 10_000 });
  const cache = r.status === 0 ? r.stdout : '';
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const has = (lib: string) => cache.includes(lib) || dirs.some((d) => existsSync(join(d, lib)));
  return { cudart: has('libcudart.so.11.0'), cudnn: has('libcudnn.so.8') };
}

export type TfjsNodePackage = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

export interface TfjsNodeStatus {
  pkg: TfjsNodePackage;
  installed: boolean;
  /** The native addon its install script builds or downloads is present. */
  binding: boolean;
}

export function tfjsNodeStatus(pkg: TfjsNodePackage): TfjsNodeStatus {
  const dir = packageDir(pkg);
  if (!dir) return { pkg, installed: false, binding: false };
  let binding = false;
  try {
    binding = readdirSync(join(dir, 'lib')).some((d) => existsSync(join(dir, 'lib', d, 'tfjs_binding.node')));
  } catch {
    /* no lib folder: the install script never ran */
  }
  return { pkg, installed: true, binding };
}

/** One line: how to get a native TensorFlow backend, on a machine that can download it. */
export function tensorflowInstallHint(gpu: boolean): string {
  return gpu
    ? `on a machine with internet access, an NVIDIA GPU and CUDA 11.2 + cuDNN 8.1: \`pnpm --filter @dino-ts/trainer add @tensorflow/tfjs-node-gpu@${TFJS_NODE_VERSION}\` (its install script downloads libtensorflow from storage.googleapis.com)`
    : `on a machine with internet access: \`pnpm --filter @dino-ts/trainer add @tensorflow/tfjs-node@${TFJS_NODE_VERSION}\` (its install script downloads libtensorflow from storage.googleapis.com)`;
}

/** Imports a tfjs-node package and activates its `tensorflow` backend; the error's first line when it fails. */
export async function activateTensorflow(pkg: TfjsNodePackage): Promise<{ ok: boolean; error?: string }> {
  try {
    await import(/* @vite-ignore */ pkg);
    const ok = await tf.setBackend('tensorflow');
    if (ok) await tf.ready();
    return ok ? { ok } : { ok, error: 'the tensorflow backend did not initialise' };
  } catch (e) {
    return { ok: false, error: String((e as Error)?.message ?? e).split('\n')[0] };
  }
}

/** What `dino info` prints about every backend: usable or not, and why. */
export function backendReport(active?: string): string[] {
  const nv = nvidiaStatus();
  const lines: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
    const s = tfjsNodeStatus(pkg);
    const gpu = pkg.endsWith('gpu');
    const label = `tensorflow (${gpu ? 'CUDA' : 'native CPU'}, ${pkg})`;
    const state = !s.installed
      ? `not installed; ${tensorflowInstallHint(gpu)}`
      : !s.binding
        ? `installed without its native addon (the install script's download failed); reinstall it ${tensorflowInstallHint(gpu)}`
        : active === 'tensorflow'
          ? 'usable (active)'
          : 'installed';
    let extra = '';
    if (gpu) {
      extra = `; ${nv.visible ? `NVIDIA GPU: ${nv.detail}` : nv.detail}`;
      if (nv.visible) {
        const cuda = cudaLibraries();
        extra += `; CUDA 11 runtime (libcudart.so.11.0) ${cuda.cudart ? 'found' : 'not found'}, cuDNN 8 (libcudnn.so.8) ${cuda.cudnn ? 'found' : 'not found'}`;
      }
    }
    lines.push(`  ${label}: ${state}${extra}`);
  }
  const w = probeWebgpu();
  const wstate = !w.installed
    ? w.detail
    : w.hardware
      ? `usable${active === 'webgpu' ? ' (active)' : ''}: ${w.detail}; --backend auto picks it when no CUDA TensorFlow is installed`
      : w.software
        ? `usable only with --backend webgpu${active === 'webgpu' ? ' (active)' : ''}: ${w.detail}, slower than wasm, so --backend auto never picks it`
        : `not usable: ${w.detail}`;
  lines.push(`  webgpu (@tensorflow/tfjs-backend-webgpu + webgpu): ${wstate}`);
  for (const [name, pkg, what] of [
    ['wasm', '@tensorflow/tfjs-backend-wasm', `WebAssembly SIMD with the dino-ts kernels on up to ${availableParallelism()} threads (--threads); runs anywhere`],
    ['cpu', '@tensorflow/tfjs-backend-cpu', 'plain JavaScript; the slowest, for debugging'],
  ] as const) {
    lines.push(`  ${name} (${pkg}): ${resolves(pkg) ? `usable${active === name ? ' (active)' : ''}: ${what}` : 'not installed: reinstall dependencies (`pnpm install`)'}`);
  }
  return ['backends:', ...lines];
}
