// The built package under plain Node (no vitest aliases, no source transforms): see
// scripts/node-smoke.mjs. Needs `pnpm build` (the root `pnpm test` builds first).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('built package in plain Node', () => {
  it('loads (ESM and CJS), registers its kernels on wasm and computes a transposed matMul', () => {
    if (!existsSync(`${pkg}/dist/index.js`)) {
      throw new Error('packages/wasm-kernels/dist is missing: run `pnpm build` (or `npx tsup` in the package) first');
    }
    const r = spawnSync(process.execPath, ['scripts/node-smoke.mjs'], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.backend).toBe('wasm');
    expect(out.registered).toBe(out.kernels);
    expect(out.kernels).toBeGreaterThan(20);
    expect(out.maxErr).toBeLessThan(1e-3);
    expect(out.cjsRegister).toBe('function');
  });
});
