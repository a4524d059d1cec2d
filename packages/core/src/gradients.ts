// tfjs-core's Node entry (the CJS bundle named by "main") registers no gradient functions, so
// `tf.grad` fails there with "gradient function not found". The ESM registration file cannot be
// loaded by Node's own resolver (extension-less imports), so tsup bundles it into this package
// (see tsup.config.ts). Gradients live in a global registry, so one registration serves every
// package and every backend.
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export const GRADIENTS_REGISTERED = true;
