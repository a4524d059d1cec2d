import { libraryConfig } from '../../tsup.shared';

export default libraryConfig({
  // The Node-only modules live in src/node/ (file system, sharp); its index is the '/node' entry.
  entry: { index: 'src/index.ts', node: 'src/node/index.ts' },
  // Shared code in common chunks for CJS too (ESM splits by default): without it node.cjs would
  // carry its own copies of DataError, ArrayDataset, ..., and `instanceof` would fail for
  // objects crossing from one entry to the other in a require()-based program.
  splitting: true,
});
