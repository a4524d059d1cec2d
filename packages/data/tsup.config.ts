import { libraryConfig } from '../../tsup.shared';

export default libraryConfig({
  // Two entries: the browser-safe main one, and '/node' (file system, sharp).
  entry: ['src/index.ts', 'src/node.ts'],
  // Shared code in common chunks for CJS too (ESM splits by default): without it node.cjs would
  // carry its own copies of DataError, ArrayDataset, ..., and `instanceof` would fail for
  // objects crossing from one entry to the other in a require()-based program.
  splitting: true,
});
