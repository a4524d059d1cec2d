// Behaviour of the ViT beyond reference parity: gradients on every backend, no tensor leaks,
// stochastic depth, ownership of returned tensors.
import { it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { VisionTransformer } from './vit';
import { dropPath } from './nn';
import { dropPathSchedule } from './vit-config';

const tiny = { imgSize: 16, patchSize: 4, inChans: 3, embedDim: 24, depth: 3, numHeads: 2 } as const;

function image(b: number, h: number, w: number, c = 3, seed = 1): tf.Tensor4D {
  return tf.randomNormal([b, h, w, c], 0, 1, 'float32', seed) as tf.Tensor4D;
}

describeBackends('VisionTransformer behaviour', () => {
  it('every parameter gets a finite, non-zero gradient (training, drop path, interpolated grid)', async () => {
    const vit = new VisionTransformer({ ...tiny, dropPathRate: 0.1, seed: 3 });
    const x = image(4, 12, 20);
    const rng = new Rng(7);
    const params = [...vit.params().values()];
    const { value, grads } = tf.variableGrads(() => {
      const { cls, patchTokens } = vit.forwardFeatures(x, { training: true, rng });
      return tf.add(tf.mean(tf.square(cls)), tf.mean(tf.square(patchTokens))) as tf.Scalar;
    }, params);
    expect(Number.isFinite((await value.data())[0])).toBe(true);
    expect(Object.keys(grads)).toHaveLength(vit.params().size);
    for (const [name, v] of vit.params()) {
      const g = await grads[v.name]!.data();
      expect(g.length, name).toBe(v.size);
      expect(g.every(Number.isFinite), `${name} finite`).toBe(true);
      expect(g.some((e) => e !== 0), `${name} non-zero`).toBe(true);
    }
    tf.dispose([value, grads]);
    vit.dispose();
  });

  it('leaks no tensors across forward calls, training steps and gradients', () => {
    const vit = new VisionTransformer({ ...tiny, dropPathRate: 0.2 });
    const x = image(2, 16, 16);
    const y = image(2, 8, 12);
    const run = () => {
      tf.dispose(vit.forward(x));
      tf.dispose(vit.forward(y, { training: true, rng: new Rng(1) }));
      const f = vit.forwardFeatures(y);
      tf.dispose([f.cls, f.patchTokens]);
      tf.dispose(vit.getIntermediateLayers(x, 2));
      expect(vit.hasSelfAttention).toBe(true);
      tf.dispose(vit.getLastSelfAttention(y));
      tf.dispose(vit.interpolatePosEncoding(16, 16));
      tf.dispose(vit.interpolatePosEncoding(8, 12));
      const { value, grads } = tf.variableGrads(
        () => tf.mean(vit.forward(y, { training: true })) as tf.Scalar,
        [...vit.params().values()],
      );
      tf.dispose([value, grads]);
    };
    run(); // warm-up: backend-side caches, if any
    const before = tf.memory().numTensors;
    run();
    expect(tf.memory().numTensors).toBe(before);
    vit.dispose();
  });

  it('drop path: eval ignores it, training is reproducible from the rng and changes the output', async () => {
    const plain = new VisionTransformer({ ...tiny, seed: 5 });
    const dropped = new VisionTransformer({ ...tiny, seed: 5, dropPathRate: 0.5 });
    const x = image(8, 16, 16);
    const ref = await plain.forward(x).data();
    expect(Array.from(await dropped.forward(x).data())).toEqual(Array.from(ref));
    expect(Array.from(await dropped.forward(x, { training: false, rng: new Rng(1) }).data())).toEqual(Array.from(ref));
    const a = await dropped.forward(x, { training: true, rng: new Rng(11) }).data();
    const b = await dropped.forward(x, { training: true, rng: new Rng(11) }).data();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(ref));
    // No drop path configured: training equals eval.
    expect(Array.from(await plain.forward(x, { training: true, rng: new Rng(11) }).data())).toEqual(Array.from(ref));
    plain.dispose();
    dropped.dispose();
  });

  it('forward runs the last block for the CLS token alone: the values and gradients of the full blocks', async () => {
    const vit = new VisionTransformer({ ...tiny, dropPathRate: 0.3, seed: 4 });
    const x = image(6, 12, 16);
    const probe = tf.randomNormal([6, tiny.embedDim], 0, 1, 'float32', 8);
    const params = [...vit.params().values()];
    // forwardFeatures runs every block on every token; its CLS is what forward must return.
    const run = (path: 'cls' | 'full', training: boolean) => {
      // the same drop-path draws for both paths and both passes
      const out = () => {
        const rng = new Rng(21);
        return path === 'cls' ? vit.forward(x, { training, rng }) : vit.forwardFeatures(x, { training, rng }).cls;
      };
      const value = out();
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(out(), probe)) as tf.Scalar, params);
      return { value: value.dataSync(), grads: params.map((p) => grads[p.name]!.dataSync()) };
    };
    for (const training of [false, true]) {
      const cls = run('cls', training);
      const full = run('full', training);
      for (let i = 0; i < full.value.length; i++) expect(cls.value[i]).toBeCloseTo(full.value[i]!, 5);
      params.forEach((p, j) => {
        const a = cls.grads[j]!, b = full.grads[j]!;
        const scale = Math.max(1e-3, ...Array.from(b).map(Math.abs));
        let err = 0;
        for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
        expect(err / scale, `${p.name} training=${training}`).toBeLessThan(1e-4);
      });
    }
    vit.dispose();
  });

  it('dropPath keeps a sample with probability 1 - p and scales kept ones by 1 / (1 - p)', async () => {
    const p = 0.3;
    const n = 4000;
    const out = await dropPath(tf.ones([n, 2, 3]), p, new Rng(42)).data();
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const row = out.slice(i * 6, i * 6 + 6);
      const v = row[0]!;
      expect(row.every((e) => e === v)).toBe(true); // one decision per sample
      if (v !== 0) {
        expect(v).toBeCloseTo(1 / (1 - p), 6);
        kept++;
      }
    }
    expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.03);
  });

  it('stochastic depth rises linearly from 0 to dropPathRate over the blocks', () => {
    const s = dropPathSchedule(0.1, 12);
    expect(s).toHaveLength(12);
    expect(s[0]).toBe(0);
    expect(s[11]).toBeCloseTo(0.1, 12);
    for (let i = 1; i < 12; i++) expect(s[i]! - s[i - 1]!).toBeCloseTo(0.1 / 11, 12);
    expect(dropPathSchedule(0.1, 1)).toEqual([0]);
  });

  it('returns tensors the caller owns: disposing them leaves the model intact', async () => {
    const vit = new VisionTransformer(tiny);
    const pe = vit.interpolatePosEncoding(16, 16); // built grid: a copy, not the variable
    const expected = await vit.params().get('pos_embed')!.data();
    expect(Array.from(await pe.data())).toEqual(Array.from(expected));
    pe.dispose();
    expect(vit.params().get('pos_embed')!.isDisposed).toBe(false);
    const out = vit.forward(image(1, 16, 16));
    expect(out.shape).toEqual([1, 24]);
    vit.dispose();
    expect(vit.params().get('pos_embed')!.isDisposed).toBe(true);
  });

  it('initialises as the reference: trunc-normal 0.02 weights, zero biases, unit LayerNorm, seeded', async () => {
    const a = new VisionTransformer({ ...tiny, embedDim: 64, seed: 9 });
    const b = new VisionTransformer({ ...tiny, embedDim: 64, seed: 9 });
    const c = new VisionTransformer({ ...tiny, embedDim: 64, seed: 10 });
    const w = await a.params().get('blocks.0.mlp.fc1.weight')!.data();
    let s2 = 0;
    for (const e of w) s2 += e * e;
    expect(Math.sqrt(s2 / w.length)).toBeGreaterThan(0.018);
    expect(Math.sqrt(s2 / w.length)).toBeLessThan(0.022);
    expect(Array.from(await a.params().get('blocks.0.attn.qkv.bias')!.data()).every((e) => e === 0)).toBe(true);
    expect(Array.from(await a.params().get('norm.weight')!.data()).every((e) => e === 1)).toBe(true);
    const bound = 1 / Math.sqrt(3 * 4 * 4);
    const pw = await a.params().get('patch_embed.proj.weight')!.data();
    expect(pw.every((e) => Math.abs(e) <= bound)).toBe(true);
    expect(Array.from(await b.params().get('pos_embed')!.data())).toEqual(Array.from(await a.params().get('pos_embed')!.data()));
    expect(Array.from(await c.params().get('pos_embed')!.data())).not.toEqual(Array.from(await a.params().get('pos_embed')!.data()));
    for (const m of [a, b, c]) m.dispose();
  });

  it('qkvBias false drops the qkv bias parameters', () => {
    const vit = new VisionTransformer({ ...tiny, qkvBias: false });
    expect(vit.params().has('blocks.0.attn.qkv.bias')).toBe(false);
    expect(vit.forward(image(1, 16, 16)).shape).toEqual([1, 24]);
    vit.dispose();
  });
});
