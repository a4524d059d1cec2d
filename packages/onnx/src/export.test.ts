// The exported graph run by onnxruntime (native Node addon and WebAssembly build) against
// dino-ts's own forward and last-block attention on the same images and weights.
import { it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { ConfigError, LayerNorm, Rng } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { Attention, VisionTransformer, createBackbone, type VitConfig } from '@dino-ts/backbones';
import { exportOnnx, inspectOnnx, ONNX_EXPORT_DEFAULTS } from './index';

type Ort = typeof ortNode;
const RUNTIMES: [string, Ort][] = [
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web', ortWeb as unknown as Ort],
];

beforeAll(() => {
  // onnxruntime-web in Node: one thread, no worker (the test compares numbers, not speed).
  ortWeb.env.wasm.numThreads = 1;
});

const CASES: { label: string; config: VitConfig }[] = [
  { label: 'img 32, patch 8, D 64, depth 2, 2 heads', config: { imgSize: 32, patchSize: 8, embedDim: 64, depth: 2, numHeads: 2, seed: 1 } },
  {
    label: 'grey 24x40, patch 8, D 48, depth 3, 4 heads, mlpRatio 2, no qkv bias',
    config: { imgSize: [24, 40], patchSize: 8, inChans: 1, embedDim: 48, depth: 3, numHeads: 4, mlpRatio: 2, qkvBias: false, seed: 2 },
  },
];

/**
 * Weights far from the initialisation's (std 0.02 makes every attention row nearly uniform and
 * every block nearly the identity, which would hide a wrong order of heads or a missed
 * transpose): normal draws of std 0.3 (LayerNorm gains around 1), seeded.
 */
function randomize(vit: VisionTransformer, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, v] of vit.params()) {
    const data = Float32Array.from({ length: v.size }, () => (name.endsWith('norm1.weight') || name.endsWith('norm2.weight') || name === 'norm.weight' ? 1 : 0) + 0.3 * rng.normal());
    tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  }
}

/** NHWC test images and the same pixels as the NCHW array the ONNX input takes. */
async function images(batch: number, vit: VisionTransformer, seed: number): Promise<{ nhwc: tf.Tensor4D; nchw: Float32Array }> {
  const [h, w] = vit.imgSize;
  const nhwc = tf.randomNormal([batch, h, w, vit.inChans], 0, 1, 'float32', seed) as tf.Tensor4D;
  const t = tf.transpose(nhwc, [0, 3, 1, 2]);
  const nchw = (await t.data()) as Float32Array;
  t.dispose();
  return { nhwc, nchw };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const TOL = 1e-4;

describeBackends('exportOnnx against dino-ts', (backend) => {
  for (const { label, config } of CASES) {
    it(`${label}: cls and attention match in onnxruntime-node and -web, batch 1 and 3`, async () => {
      const vit = new VisionTransformer(config);
      randomize(vit, 11);
      const bytes = await exportOnnx(vit);
      const [h, w] = vit.imgSize;
      const tokens = (h / vit.patchSize) * (w / vit.patchSize) + 1;

      const info = inspectOnnx(bytes);
      expect(info.opsets).toEqual([{ domain: '', version: 17 }]);
      expect(info.irVersion).toBe(8);
      expect(info.inputs).toEqual([{ name: 'images', type: 'float32', shape: ['batch', vit.inChans, h, w] }]);
      expect(info.outputs).toEqual([
        { name: 'cls', type: 'float32', shape: ['batch', vit.embedDim] },
        { name: 'attention', type: 'float32', shape: ['batch', vit.numHeads, tokens, tokens] },
      ]);
      // Every parameter once, under its reference name and in its reference layout.
      const params = vit.params();
      for (const [name, v] of params) expect(info.initializers.find((i) => i.name === name)?.dims, name).toEqual(v.shape);
      expect(info.floatParameters).toBe([...params.values()].reduce((n, v) => n + v.size, 0) + 4); // + the scalars sqrt2, 1, 0.5, scale

      const errors: string[] = [];
      for (const batch of [1, 3]) {
        const { nhwc, nchw } = await images(batch, vit, 5 + batch);
        const refCls = vit.forward(nhwc);
        const refAttn = vit.getLastSelfAttention(nhwc);
        const [cls, attn] = [(await refCls.data()) as Float32Array, (await refAttn.data()) as Float32Array];
        tf.dispose([nhwc, refCls, refAttn]);
        // The weights make attention far from uniform (1 / tokens), so the comparison means something.
        expect(Math.max(...attn)).toBeGreaterThan(10 / tokens);
        for (const [rtName, ort] of RUNTIMES) {
          // Session creation is onnxruntime's check of the model (types, shapes, operator versions).
          const session = await ort.InferenceSession.create(bytes);
          expect(session.inputNames).toEqual(['images']);
          expect(session.outputNames).toEqual(['cls', 'attention']);
          const out = await session.run({ images: new ort.Tensor('float32', nchw, [batch, vit.inChans, h, w]) });
          expect(out.cls.dims).toEqual([batch, vit.embedDim]);
          expect(out.attention.dims).toEqual([batch, vit.numHeads, tokens, tokens]);
          const eCls = maxAbsDiff(out.cls.data as Float32Array, cls);
          const eAttn = maxAbsDiff(out.attention.data as Float32Array, attn);
          errors.push(`${rtName} batch ${batch}: cls ${eCls.toExponential(2)}, attention ${eAttn.toExponential(2)}`);
          expect(eCls, `${rtName} cls, batch ${batch}`).toBeLessThan(TOL);
          expect(eAttn, `${rtName} attention, batch ${batch}`).toBeLessThan(TOL);
          await session.release();
        }
      }
      console.log(`[${backend}] ${label}: max |onnx - dino-ts|\n  ${errors.join('\n  ')}`);
      vit.dispose();
    });
  }

  it('NHWC input, no attention output, opset 21: same cls', async () => {
    const vit = new VisionTransformer(CASES[0].config);
    randomize(vit, 12);
    const bytes = await exportOnnx(vit, { layout: 'NHWC', attention: false, opset: 21 });
    const info = inspectOnnx(bytes);
    expect(info.opsets).toEqual([{ domain: '', version: 21 }]);
    expect(info.irVersion).toBe(10);
    expect(info.inputs[0].shape).toEqual(['batch', 32, 32, 3]);
    expect(info.outputs.map((o) => o.name)).toEqual(['cls']);
    const { nhwc } = await images(2, vit, 3);
    const ref = vit.forward(nhwc);
    const expected = (await ref.data()) as Float32Array;
    const pixels = (await nhwc.data()) as Float32Array;
    tf.dispose([ref, nhwc]);
    for (const [rtName, ort] of RUNTIMES) {
      const session = await ort.InferenceSession.create(bytes);
      expect(session.outputNames).toEqual(['cls']);
      const out = await session.run({ images: new ort.Tensor('float32', pixels, [2, 32, 32, 3]) });
      expect(maxAbsDiff(out.cls.data as Float32Array, expected), rtName).toBeLessThan(TOL);
      await session.release();
    }
    vit.dispose();
  });
});

describeBackends(
  'exportOnnx ViT-S/16',
  () => {
    it('the reference-sized ViT-S/16 at 224 px (86 MB of weights) matches in both runtimes', async () => {
      const vit = createBackbone('vit_small', { patchSize: 16 }) as VisionTransformer;
      const bytes = await exportOnnx(vit);
      expect(inspectOnnx(bytes).outputs[1].shape).toEqual(['batch', 6, 197, 197]);
      const { nhwc, nchw } = await images(1, vit, 4);
      const refCls = vit.forward(nhwc);
      const refAttn = vit.getLastSelfAttention(nhwc);
      const [cls, attn] = [(await refCls.data()) as Float32Array, (await refAttn.data()) as Float32Array];
      tf.dispose([nhwc, refCls, refAttn]);
      const errors: string[] = [];
      for (const [rtName, ort] of RUNTIMES) {
        const session = await ort.InferenceSession.create(bytes);
        const out = await session.run({ images: new ort.Tensor('float32', nchw, [1, 3, 224, 224]) });
        const eCls = maxAbsDiff(out.cls.data as Float32Array, cls);
        const eAttn = maxAbsDiff(out.attention.data as Float32Array, attn);
        errors.push(`${rtName}: cls ${eCls.toExponential(2)}, attention ${eAttn.toExponential(2)}`);
        expect(eCls, rtName).toBeLessThan(TOL);
        expect(eAttn, rtName).toBeLessThan(TOL);
        await session.release();
      }
      console.log(`ViT-S/16 max |onnx - dino-ts|: ${errors.join('; ')}`);
      vit.dispose();
    });
  },
  ['wasm'],
);

describeBackends(
  'exportOnnx',
  () => {
    it('reads the weights without leaving a tensor behind, and keeps LayerNorm eps per norm', async () => {
      const normLayer = (dim: number) => new LayerNorm(dim, { eps: 1e-5 });
      const vit = new VisionTransformer({ ...CASES[0].config, normLayer });
      const before = tf.memory().numTensors;
      const bytes = await exportOnnx(vit);
      expect(tf.memory().numTensors).toBe(before);
      expect(ONNX_EXPORT_DEFAULTS).toEqual({ opset: 17, attention: true, layout: 'NCHW' });
      // The epsilon is an attribute of each LayerNormalization node: the float 1e-5 is in the
      // file (as fixed32 after the key of AttributeProto.f), and 1e-6 is not.
      const hasFloat = (v: number) => {
        const b = new Uint8Array(Float32Array.of(v).buffer);
        return bytes.some((x, i) => x === 0x15 && b.every((y, j) => bytes[i + 1 + j] === y));
      };
      expect(hasFloat(1e-5)).toBe(true);
      expect(hasFloat(1e-6)).toBe(false);
      vit.dispose();
    });

    it('refuses a ViT with non-standard parts and bad options, naming them', async () => {
      class ScaledAttention extends Attention {}
      const custom = new VisionTransformer({ ...CASES[0].config, attnLayer: (o) => new ScaledAttention(o) });
      await expect(exportOnnx(custom)).rejects.toThrow(/blocks\.0\.attn.*standard Attention/);
      const vit = new VisionTransformer(CASES[0].config);
      await expect(exportOnnx(vit, { opset: 16 })).rejects.toThrow(ConfigError);
      await expect(exportOnnx(vit, { opset: 16 })).rejects.toThrow(/opset/);
      await expect(exportOnnx(vit, { layout: 'CHW' as 'NCHW' })).rejects.toThrow(/layout/);
      await expect(exportOnnx(vit, { attn: true } as object)).rejects.toThrow(/attn/);
      await expect(exportOnnx({} as VisionTransformer)).rejects.toThrow(/VisionTransformer/);
      custom.dispose();
      vit.dispose();
    });

    it('inspectOnnx rejects bytes that are not a model', () => {
      expect(() => inspectOnnx(new Uint8Array([1, 2, 3]))).toThrow(RangeError);
      expect(() => inspectOnnx(new Uint8Array(0))).toThrow(/no graph/);
    });
  },
  ['cpu'],
);
