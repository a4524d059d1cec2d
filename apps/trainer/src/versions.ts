import { version_core } from '@tensorflow/tfjs-core';
import type { BackendInfo } from './backend';

/** Versions recorded in checkpoints and reports. */
export function versions(backend?: BackendInfo): Record<string, string> {
  return {
    'dino-ts': '0.1.0',
    '@tensorflow/tfjs-core': version_core,
    node: process.version,
    ...(backend ? { backend: `${backend.name} (${backend.provider})` } : {}),
  };
}
