import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@dino-ts/core';
import { describeBackends, readFixture, fx, assertClose } from '@dino-ts/core/testing';
import { clipGradients, clipGradientsAsync } from './clip';
import type { Grads } from './grads';

// The asynchronous clipping the training step uses (GPU backends cannot read synchronously):
// the same reference values as the synchronous one, and bit-identical to it.
const { tensors, metadata } = readFixture(fileURLToPath(new URL('../fixtures/optim.safetensors', import.meta.url)));
const NAMES = ['a.weight', 'a.bias', 'norm.weight', 'norm.bias', 'last_layer.weight'];

function gradsFrom(prefix: string): Grads {
  return new Map(NAMES.map((n) => [n, tf.tensor(fx(tensors, `${prefix}.${n}`), tensors[`${prefix}.${n}`].shape)]));
}

describeBackends('clipGradientsAsync', () => {
  it('equals utils.clip_gradients and clipGradients, and frees its temporaries', async () => {
    const grads = gradsFrom('clip.grad');
    const norms = await clipGradientsAsync(grads, Number(metadata.clip));
    assertClose([...norms.values()], fx(tensors, 'clip.norms'), 1e-5, 'norms');
    const sync = gradsFrom('clip.grad');
    clipGradients(sync, Number(metadata.clip));
    for (const n of NAMES) {
      const a = await grads.get(n)!.data();
      assertClose(a, fx(tensors, `clip.clipped.${n}`), 1e-6, `clipped ${n}`);
      expect(Buffer.from((a as Float32Array).buffer).equals(Buffer.from((sync.get(n)!.dataSync() as Float32Array).buffer)), n).toBe(true);
    }
    // At least one gradient was scaled, or the test would not see the clipping at all.
    expect(Math.min(...norms.values())).toBeLessThan(Number(metadata.clip));
    expect(Math.max(...norms.values())).toBeGreaterThan(Number(metadata.clip));
    const before = tf.memory().numTensors;
    await clipGradientsAsync(grads, 0.1);
    expect(tf.memory().numTensors).toBe(before);
    await expect(clipGradientsAsync(grads, 0)).rejects.toThrow(ConfigError);
    expect(await clipGradientsAsync(new Map(), 1)).toEqual(new Map());
  });
});
