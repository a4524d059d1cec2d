// Parity with the PyTorch reference: fixtures from scripts/fixtures/make_backbones.py (reference
// VisionTransformer with randomised weights, inputs of the built grid and of other grids).
import { it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { loadParams, type NamedArray } from '@dino-ts/core';
import { assertClose, assertRelClose, describeBackends, fx, readFixture } from '@dino-ts/core/testing';
import { VisionTransformer } from './vit';

const ATOL = 1e-4;

interface Fixture {
  tensors: Record<string, NamedArray>;
  cfg: { img_size: number; patch_size: number; in_chans: number; embed_dim: number; depth: number; num_heads: number };
  order: string[];
  inputs: string[];
  gradInput?: string;
}

function load(name: string): Fixture {
  const { tensors, metadata } = readFixture(fileURLToPath(new URL(`../fixtures/${name}.safetensors`, import.meta.url)));
  return {
    tensors,
    cfg: JSON.parse(metadata.config),
    order: JSON.parse(metadata.param_order),
    inputs: JSON.parse(metadata.inputs),
    gradInput: metadata.grad_input,
  };
}

function build(f: Fixture): VisionTransformer {
  const c = f.cfg;
  const vit = new VisionTransformer({
    imgSize: c.img_size,
    patchSize: c.patch_size,
    inChans: c.in_chans,
    embedDim: c.embed_dim,
    depth: c.depth,
    numHeads: c.num_heads,
  });
  const weights = Object.fromEntries(f.order.map((k) => [k, f.tensors[k]!]));
  loadParams(vit.params(), weights, { source: 'reference fixture' });
  return vit;
}

function worst(errs: Record<string, number>): string {
  const [k, v] = Object.entries(errs).reduce((a, b) => (b[1] > a[1] ? b : a));
  return `${v.toExponential(2)} (${k})`;
}

function input(f: Fixture, name: string): tf.Tensor4D {
  const a = f.tensors[`${name}.input`]!;
  return tf.tensor4d(a.data as Float32Array, a.shape as [number, number, number, number]);
}

for (const fixtureName of ['vit_a', 'vit_b']) {
  const f = load(fixtureName);

  describeBackends(`VisionTransformer vs reference (${fixtureName})`, (backend) => {
    let vit: VisionTransformer;
    beforeAll(() => {
      vit = build(f);
    });
    afterAll(() => vit.dispose());

    it('has the reference state-dict names, order and shapes', () => {
      expect([...vit.params().keys()]).toEqual(f.order);
      for (const [k, v] of vit.params()) expect(v.shape).toEqual(f.tensors[k]!.shape);
    });

    for (const name of f.inputs) {
      it(`${name}: forward, features, intermediate layers, attention, pos embed`, async () => {
        const x = input(f, name);
        const errs: Record<string, number> = {};
        const check = async (t: tf.Tensor, key: string) => {
          expect(t.shape).toEqual(f.tensors[key]!.shape);
          errs[key] = assertClose(await t.data(), fx(f.tensors, key), ATOL, `${backend} ${key}`).maxAbs;
        };
        await check(vit.forward(x), `${name}.cls`);
        const feats = vit.forwardFeatures(x);
        await check(feats.cls, `${name}.cls`);
        await check(feats.patchTokens, `${name}.patch_tokens`);
        const inter = vit.getIntermediateLayers(x, 2);
        expect(inter).toHaveLength(2);
        await check(inter[0]!, `${name}.intermediate.0`);
        await check(inter[1]!, `${name}.intermediate.1`);
        await check(vit.getLastSelfAttention(x), `${name}.attention`);
        await check(vit.interpolatePosEncoding(x.shape[1], x.shape[2]), `${name}.pos_embed`);
        console.log(`[${backend}] ${fixtureName} ${name}: max abs error ${worst(errs)}`);
      });
    }

    if (f.gradInput) {
      it(`gradients of a projection of the CLS output match the reference (${f.gradInput})`, async () => {
        const x = input(f, f.gradInput!);
        const proj = tf.tensor(fx(f.tensors, 'grad.projection'), f.tensors['grad.projection']!.shape);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(vit.forward(x), proj)) as tf.Scalar, [...vit.params().values()]);
        value.dispose();
        const rels: Record<string, number> = {};
        let checked = 0;
        for (const [k, v] of vit.params()) {
          const key = `grad.${k}`;
          if (!(key in f.tensors)) continue;
          rels[k] = assertRelClose(await grads[v.name]!.data(), fx(f.tensors, key), 1e-4, `${backend} ${key}`);
          checked++;
        }
        expect(checked).toBeGreaterThanOrEqual(6);
        tf.dispose(grads);
        console.log(`[${backend}] ${fixtureName} gradients (${checked} tensors): max relative error ${worst(rels)}`);
      });
    }
  });
}
