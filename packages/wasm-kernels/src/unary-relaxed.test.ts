// The polynomial math of the relaxed-SIMD build (fused multiply-adds in every Horner step): the
// unary kernels against the stock ones to the baseline build's tolerances, GELU against the
// composed ops (the same bits: both use the build's erf), and the same bits on 1-3 threads.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { tryEnableRelaxedSimd } from './kernel-module';
import { FUSED_KERNEL_NAMES } from './kernels/fused';
import { registerWasmKernels, wasmKernelsInfo } from './register';
import { prepareWasmThreads } from './shared-memory';
import { maxAbsDiff, randn } from './test/helpers';
import { unaryKernelSuite } from './test/unary-suite';

// Node 20 ships relaxed SIMD behind a V8 flag; threads need the backend's memory shared. Both
// must be arranged before the backend starts.
tryEnableRelaxedSimd();
prepareWasmThreads();

unaryKernelSuite(true);

const bits = (t: tf.Tensor) => Buffer.from(Float32Array.from(t.dataSync() as Float32Array).buffer);

describe('GELU [wasm, relaxed SIMD]', () => {
  it('gives the composed ops\' bits forward and their gradient to rounding, on 1-3 threads', async () => {
    const outputs: Buffer[][] = [];
    for (const threads of [1, 2, 3]) {
      await registerWasmKernels({ threads });
      expect(wasmKernelsInfo()?.relaxedSimd).toBe(true);
      outputs.push(tf.tidy(() => {
        const x = tf.mul(randn([4, 65, 384], 1), 3), dy = randn([4, 65, 384], 2);
        const fy = tf.engine().runKernel(FUSED_KERNEL_NAMES.gelu, { x }) as tf.Tensor;
        const fdx = tf.engine().runKernel(FUSED_KERNEL_NAMES.geluGrad, { dy, x }) as tf.Tensor;
        const composed = (xx: tf.Tensor) => tf.mul(tf.mul(xx, 0.5), tf.add(tf.erf(tf.mul(xx, Math.SQRT1_2)), 1));
        expect(bits(fy).equals(bits(composed(x))), `forward, ${threads} threads`).toBe(true);
        const cdx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(composed(xx), dy)))(x);
        const { err, mag } = maxAbsDiff(fdx.dataSync(), cdx.dataSync());
        expect(err, `gradient, ${threads} threads`).toBeLessThanOrEqual(1e-6 * Math.max(1, mag));
        return [bits(fy), bits(fdx), bits(tf.exp(x)), bits(tf.erf(x))];
      }));
    }
    for (const o of outputs.slice(1)) o.forEach((b, i) => expect(b.equals(outputs[0][i]), `output ${i}`).toBe(true));
  });
});
