import { defineConfig } from 'vitest/config';
import { readdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';

// Tests import the workspace packages from their sources, so `vitest` runs without a build;
// the built packages are exercised separately by plain-Node smoke tests (scripts/node-smoke).
const alias: Record<string, string> = {};
for (const dir of ['packages', 'apps']) {
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const src = resolve(dir, name, 'src');
    if (existsSync(resolve(src, 'index.ts'))) {
      alias[`@dino-ts/${name}/testing`] = resolve(src, 'testing.ts');
      if (existsSync(resolve(src, 'node', 'index.ts'))) alias[`@dino-ts/${name}/node`] = resolve(src, 'node', 'index.ts');
      alias[`@dino-ts/${name}`] = resolve(src, 'index.ts');
    }
  }
}

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
