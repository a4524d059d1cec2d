import { defineConfig } from 'tsup';

export default defineConfig({
  // augment-worker: the worker thread's own entry, loaded by path beside the others.
  entry: ['src/bin.ts', 'src/index.ts', 'src/augment-worker.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: false,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@dino-ts\//, 'sharp', 'commander', 'cli-progress', 'yaml', 'webgpu'],
});
