import { libraryConfig } from '../../tsup.shared';

// `testing` holds the reference-fixture trainers the parity tests of this and other packages use.
export default libraryConfig({ entry: ['src/index.ts', 'src/testing.ts'] });
