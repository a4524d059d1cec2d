// The built package under plain Node (no vitest aliases, no source transforms): see
// scripts/node-smoke.mjs. Needs `pnpm build` (the root `pnpm test` builds first).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('built package in plain Node', () => {
  it('loads (ESM and CJS, main and /node entries) and runs k-NN, attention masks and PNG output on wasm', () => {
    if (!existsSync(`${pkg}/dist/index.js`)) {
      throw new Error('packages/eval/dist is missing: run `pnpm build` (or `npx tsup` in the package) first');
    }
    const r = spawnSync(process.execPath, ['scripts/node-smoke.mjs'], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.backend).toBe('wasm');
    expect(out.knnTop1[0]).toBe(100); // each test image is its own nearest neighbour
    expect(out.maskShape).toEqual([1, 2, 4, 4]);
    expect(out.pngBytes).toBeGreaterThan(50);
    expect(out.cjsKnn).toBe('function');
    expect(out.cjsPng).toBe('function');
  });
});
