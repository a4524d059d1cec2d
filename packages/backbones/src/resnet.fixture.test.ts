// Parity with torchvision's resnet18 layout (width 4, both stems): eval-mode forward, train-mode
// forward with batch statistics, the running-statistics update and parameter gradients. Fixtures
// from scripts/fixtures/make_backbones.py.
import { it, expect, beforeEach, afterAll, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { loadParams, type NamedArray } from '@dino-ts/core';
import { assertClose, assertRelClose, describeBackends, fx, readFixture } from '@dino-ts/core/testing';
import { ResNet } from './resnet';

const ATOL = 1e-4;

for (const fixtureName of ['resnet18_w4', 'resnet18_w4_small']) {
  const { tensors, metadata } = readFixture(fileURLToPath(new URL(`../fixtures/${fixtureName}.safetensors`, import.meta.url)));
  const cfg = JSON.parse(metadata.config) as { width: number; small_input: boolean };
  const paramOrder = JSON.parse(metadata.param_order) as string[];
  const stateOrder = JSON.parse(metadata.state_order) as string[];
  const inputs = JSON.parse(metadata.inputs) as string[];
  const stateArrays: Record<string, NamedArray> = Object.fromEntries(stateOrder.map((k) => [k, tensors[k]!]));
  const input = (name: string) => {
    const a = tensors[`${name}.input`]!;
    return tf.tensor4d(a.data as Float32Array, a.shape as [number, number, number, number]);
  };

  describeBackends(`ResNet vs torchvision (${fixtureName})`, (backend) => {
    let net: ResNet;
    beforeAll(() => {
      net = new ResNet({ width: cfg.width, smallInput: cfg.small_input }, 'resnet18');
    });
    // Every test starts from the fixture's weights and running statistics.
    beforeEach(() => loadParams(net.stateDict(), stateArrays, { source: fixtureName }));
    afterAll(() => net.dispose());

    it('has torchvision state-dict names, order and shapes', () => {
      expect([...net.params().keys()]).toEqual(paramOrder);
      expect([...net.stateDict().keys()]).toEqual(stateOrder);
      for (const [k, v] of net.stateDict()) expect(v.shape, k).toEqual(tensors[k]!.shape);
      expect(net.embedDim).toBe(8 * cfg.width);
    });

    for (const name of inputs) {
      it(`${name}: eval forward, train forward and the running-statistics update`, async () => {
        const x = input(name);
        const errs: number[] = [];
        const ev = net.forward(x);
        expect(ev.shape).toEqual(tensors[`${name}.eval`]!.shape);
        errs.push(assertClose(await ev.data(), fx(tensors, `${name}.eval`), ATOL, `${backend} ${name}.eval`).maxAbs);
        // Eval mode leaves the running statistics alone.
        assertClose(await net.buffers().get('bn1.running_mean')!.data(), fx(tensors, 'bn1.running_mean'), 0, 'eval keeps stats');
        const tr = net.forward(x, { training: true });
        errs.push(assertClose(await tr.data(), fx(tensors, `${name}.train`), ATOL, `${backend} ${name}.train`).maxAbs);
        let stats = 0;
        for (const [k, v] of net.buffers()) {
          if (!k.includes('running')) continue;
          errs.push(assertClose(await v.data(), fx(tensors, `${name}.after.${k}`), ATOL, `${backend} ${name} ${k}`).maxAbs);
          stats++;
        }
        expect(stats).toBe(2 * [...net.buffers().keys()].filter((k) => k.endsWith('running_mean')).length);
        expect((await net.buffers().get('bn1.num_batches_tracked')!.data())[0]).toBe((tensors['bn1.num_batches_tracked']!.data[0] as number) + 1);
        console.log(`[${backend}] ${fixtureName} ${name}: max abs error ${Math.max(...errs).toExponential(2)} (eval, train, ${stats} running stats)`);
      });
    }

    it(`train-mode gradients of a projection of the output match torchvision (${metadata.grad_input})`, async () => {
      const x = input(metadata.grad_input!);
      const proj = tf.tensor(fx(tensors, 'grad.projection'), tensors['grad.projection']!.shape);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(net.forward(x, { training: true }), proj)) as tf.Scalar,
        [...net.params().values()],
      );
      value.dispose();
      let worst = 0;
      for (const [k, v] of net.params()) {
        worst = Math.max(worst, assertRelClose(await grads[v.name]!.data(), fx(tensors, `grad.${k}`), 1e-4, `${backend} grad.${k}`));
      }
      tf.dispose(grads);
      console.log(`[${backend}] ${fixtureName} gradients (${net.params().size} tensors): max relative error ${worst.toExponential(2)}`);
    });
  });
}
