// One Linear for every network: the shared implementation lives in @dino-ts/core.
export { linear } from '@dino-ts/core';
