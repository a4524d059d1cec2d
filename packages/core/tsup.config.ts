import { libraryConfig } from '../../tsup.shared';

// `testing` is the test helpers' entry (describeBackends, fixtures), used by the packages' tests.
// Split chunks in CJS too: `testing.cjs` shares core's code (the error classes, the gradient
// registration) with `index.cjs` instead of carrying copies.
export default libraryConfig({ entry: ['src/index.ts', 'src/testing.ts'], splitting: true });
