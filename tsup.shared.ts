import { defineConfig, type Options } from 'tsup';

/**
 * The build every library package shares: ESM + CJS + .d.ts from src/index.ts, with tfjs, the
 * workspace packages and native modules left external (tfjs-core must stay a single copy: its
 * kernels, gradients and backends live in one global registry).
 */
export function libraryConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@dino-ts\//, 'sharp'],
    ...overrides,
  });
}
