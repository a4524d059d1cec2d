import { libraryConfig } from '../../tsup.shared';

// `testing` is the test helpers' entry (describeBackends, fixtures), used by the packages' tests.
export default libraryConfig({ entry: ['src/index.ts', 'src/testing.ts'] });
