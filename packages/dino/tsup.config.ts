import { libraryConfig } from '../../tsup.shared';

// `testing` holds the reference-fixture trainers the parity tests of this and other packages use.
// Split chunks in CJS too, so `testing.cjs` shares the trainer's code with `index.cjs` instead of
// carrying a second DinoTrainer class.
export default libraryConfig({ entry: ['src/index.ts', 'src/testing.ts'], splitting: true });
