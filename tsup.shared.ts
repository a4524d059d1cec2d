import { defineConfig, type Options } from 'tsup';

/**
 * The build every library package shares: ESM + CJS, each with its own declarations (.d.ts for
 * `import`, .d.cts for `require`), from src/index.ts. tfjs, the workspace packages and native
 * modules stay external: the application's one @tensorflow/tfjs-core owns the engine, the
 * kernel and gradient registries and the Tensor class, and no dist may carry a copy of it.
 * No source maps are shipped: they would point at sources the tarballs do not contain.
 */
export function libraryConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: false,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@dino-ts\//, 'sharp', 'vitest'],
    ...overrides,
  });
}
