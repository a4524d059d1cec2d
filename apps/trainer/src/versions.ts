import { version_core } from '@tensorflow/tfjs-core';
// The build inlines the version from package.json, so `dino --version` says what was published.
import { version as DINO_TS_VERSION } from '../package.json';
import type { BackendInfo } from './backend';

export { DINO_TS_VERSION };

/** Versions recorded in checkpoints and reports. */
export function versions(backend?: BackendInfo): Record<string, string> {
  return {
    'dino-ts': DINO_TS_VERSION,
    '@tensorflow/tfjs-core': version_core,
    node: process.version,
    ...(backend ? { backend: `${backend.name} (${backend.provider})` } : {}),
  };
}
