import './gradients';

export { GRADIENTS_REGISTERED } from './gradients';
export * from './errors';
export * from './rng';
export * from './safetensors';
export * from './params';
export * from './nn';
