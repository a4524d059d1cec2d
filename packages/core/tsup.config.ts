import { libraryConfig } from '../../tsup.shared';

export default libraryConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  // Bundle tfjs-core's gradient registration (see src/gradients.ts); everything else of tfjs
  // stays external so the one copy the application installs owns the engine and registries.
  noExternal: [/@tensorflow\/tfjs-core\/dist\/register_all_gradients/],
  external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', 'vitest'],
});
