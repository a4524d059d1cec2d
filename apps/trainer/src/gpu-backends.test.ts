/**
 * The GPU backends as a user meets them: `dino info` names every backend with why it can or
 * cannot run here, a missing native TensorFlow is one line with what to do (never a crash), and
 * a short training run on WebGPU (any adapter, a software one included) completes and resumes
 * to the very same parameters. Runs the built CLI, like cli.test.ts (needs `pnpm build`).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeSafetensors } from '@dino-ts/core';
import { tempDir } from '@dino-ts/core/testing';
import { probeWebgpu, tfjsNodeStatus, nvidiaStatus, SOFTWARE_ADAPTER } from './gpu-backends';

const BIN = resolve(__dirname, '../dist/bin.js');
const TINY = ['--preset', 'smoke', '--train-size', '64', '--test-size', '32', '--batch-size', '16', '--no-report', '--eval-every', '0'];

function dino(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tensorsOf(dir: string) {
  return decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors')))).tensors;
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` first (the root \`pnpm test\` does).`);
});

const webgpu = probeWebgpu();
const adapter = webgpu.hardware ?? webgpu.software;
const tfjsNode = tfjsNodeStatus('@tensorflow/tfjs-node').installed || tfjsNodeStatus('@tensorflow/tfjs-node-gpu').installed;

describe('GPU backends: detection', () => {
  it('tells software renderers from GPUs by name', () => {
    for (const name of ['llvmpipe (LLVM 15.0.6, 256 bits)', 'lavapipe', 'SwiftShader Device (Subzero)', 'Microsoft Basic Render Driver']) expect(SOFTWARE_ADAPTER.test(name), name).toBe(true);
    for (const name of ['NVIDIA H100 80GB HBM3', 'AMD Radeon RX 7900 XTX', 'Intel(R) Arc(tm) A770 Graphics', 'Apple M2']) expect(SOFTWARE_ADAPTER.test(name), name).toBe(false);
  });

  it('dino info lists every backend, usable or not, and why', () => {
    const r = dino(['info', '--backend', 'cpu']);
    expect(r.code, r.err).toBe(0);
    const line = (name: string) => r.out.split('\n').find((l) => l.trimStart().startsWith(name)) ?? '';
    expect(line('tensorflow (CUDA, @tensorflow/tfjs-node-gpu)')).not.toBe('');
    expect(line('tensorflow (native CPU, @tensorflow/tfjs-node)')).not.toBe('');
    expect(line('wasm')).toMatch(/usable/);
    expect(line('cpu')).toMatch(/usable \(active\)/);
    const nv = nvidiaStatus();
    expect(line('tensorflow (CUDA')).toContain(nv.visible ? 'NVIDIA GPU:' : 'no NVIDIA GPU visible');
    if (!tfjsNode) expect(line('tensorflow (CUDA')).toMatch(/not installed; on a machine with internet access, an NVIDIA GPU and CUDA 11\.2 \+ cuDNN 8\.1: `pnpm --filter @dino-ts\/trainer add @tensorflow\/tfjs-node-gpu@4\.22\.0`/);
    const w = line('webgpu');
    if (webgpu.hardware) expect(w).toMatch(/usable: hardware adapter/);
    else if (webgpu.software) expect(w).toMatch(/usable only with --backend webgpu: only a software adapter: .*auto never picks it/);
    else expect(w).toMatch(/not usable|not installed/);
  });

  it.skipIf(tfjsNode)('--backend tensorflow without tfjs-node: one line with the install command, exit 2', () => {
    const r = dino(['info', '--backend', 'tensorflow']);
    expect(r.code).toBe(2);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Error: Backend "tensorflow" is not available: @tensorflow\/tfjs-node-gpu not installed; @tensorflow\/tfjs-node not installed; on a machine with internet access.*pnpm --filter @dino-ts\/trainer add @tensorflow\/tfjs-node/);
  });

  it.skipIf(webgpu.hardware !== null)('--backend auto never picks a software WebGPU adapter', () => {
    const r = dino(['info']);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/^backend: webgpu/m);
  });
});

if (!adapter) console.log(`webgpu training test skipped: ${webgpu.detail}`);

describe.skipIf(!adapter)('GPU backends: dino train --backend webgpu', () => {
  it('a smoke run completes, and a run stopped at iteration 3 resumes to the same parameters', () => {
    const a = tempDir('dino-webgpu-'), b = tempDir('dino-webgpu-');
    const full = dino(['train', ...TINY, '--backend', 'webgpu', '--out', a]);
    expect(full.code, full.err).toBe(0);
    expect(full.err).toMatch(/Backend: webgpu/);
    expect(full.err).toMatch(/Training done: 8 iterations/);
    const first = dino(['train', ...TINY, '--backend', 'webgpu', '--max-iterations', '3', '--out', b]);
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(readFileSync(join(b, 'checkpoint.json'), 'utf8')).iteration).toBe(3);
    const resumed = dino(['train', '--resume', '--backend', 'webgpu', '--no-report', '--out', b]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/Resuming .* at iteration 3/);
    const ta = tensorsOf(a), tb = tensorsOf(b);
    expect(Object.keys(tb).sort()).toEqual(Object.keys(ta).sort());
    for (const k of Object.keys(ta)) {
      expect(Buffer.from(tb[k].data.buffer).equals(Buffer.from(ta[k].data.buffer)), k).toBe(true);
    }
    // The losses match the cpu backend's run of the same settings step by step.
    const c = tempDir('dino-webgpu-');
    expect(dino(['train', ...TINY, '--backend', 'cpu', '--out', c]).code).toBe(0);
    const losses = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'step').map((r) => r.loss as number);
    const la = losses(a), lc = losses(c);
    expect(la).toHaveLength(8);
    la.forEach((l, i) => expect(Math.abs(l - lc[i]), `loss ${i}`).toBeLessThan(1e-4));
  });
});
