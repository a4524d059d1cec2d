// The built package under plain Node (no vitest aliases, no source transforms): see
// scripts/node-smoke.mjs. Needs `pnpm build` (the root `pnpm test` builds first).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('built package in plain Node', () => {
  it('loads (ESM and CJS), reads a .pth into a ViT on wasm, writes one back', () => {
    if (!existsSync(`${pkg}/dist/index.js`)) {
      throw new Error('packages/weights/dist is missing: run `pnpm build` (or `npx tsup` in the package) first');
    }
    const r = spawnSync(process.execPath, ['scripts/node-smoke.mjs'], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.backend).toBe('wasm');
    expect(out.format).toBe('pth');
    expect(out.arch.numHeads).toBe(2);
    expect(out.clsShape).toEqual([1, 128]);
    expect(out.finite).toBe(true);
    expect(out.roundTrip).toBe(true);
    expect(out.cjsTensors).toBe(4 + 2 * 12 + 2); // cls, pos, patch w+b; 12 per block; norm w+b
  });
});
