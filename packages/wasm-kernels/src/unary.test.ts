// The unary kernels of the baseline (SIMD128) build; unary-relaxed.test.ts runs the same suite on
// the relaxed-SIMD build.
import { unaryKernelSuite } from './test/unary-suite';

unaryKernelSuite(false);
