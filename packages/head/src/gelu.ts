// One GELU for every network: the shared implementation lives in @dino-ts/core.
export { gelu } from '@dino-ts/core';
