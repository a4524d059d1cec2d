// Parity with the PyTorch reference: the same small ViT saved every way DINO weights are published
// (scripts/fixtures/make_weights.py), loaded here from the files alone, must compute the
// reference's CLS features and last-block attention.
import { it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataError, type NamedArray } from '@dino-ts/core';
import { assertClose, describeBackends, fx, readFixture } from '@dino-ts/core/testing';
import { inferDinoHeadConfig, isNamedArray, loadVisionTransformer, readPth, readWeights, type PickleDict, type ReadWeightsOptions } from './index';

const ATOL = 1e-4;
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const bytes = (name: string) => new Uint8Array(readFileSync(fixture(name)));
const expected = readFixture(fixture('expected.safetensors'));
const PUB = JSON.parse(expected.metadata.pub) as { embed_dim: number; depth: number; num_heads: number; patch_size: number; img_size: number; mlp_ratio: number };
const CKPT = JSON.parse(expected.metadata.ckpt) as { num_heads: number; embed_dim: number };
const HEAD = JSON.parse(expected.metadata.head) as { out_dim: number; hidden_dim: number; bottleneck_dim: number; nlayers: number };

interface Case {
  file: string;
  opts?: ReadWeightsOptions;
  /** The expected.safetensors prefix of the outputs. */
  outputs: string;
  format: string;
  naming: string;
}

const CASES: Case[] = [
  { file: 'vit.pth', outputs: 'vit.f32', format: 'pth', naming: 'reference' },
  { file: 'vit_legacy.pth', outputs: 'vit.f32', format: 'pth-legacy', naming: 'reference' },
  { file: 'vit_f16.pth', outputs: 'vit.f16', format: 'pth', naming: 'reference' },
  { file: 'vit_bf16.safetensors', outputs: 'vit.bf16', format: 'safetensors', naming: 'reference' },
  { file: 'vit_hf_f16.safetensors', outputs: 'vit.f16', format: 'safetensors', naming: 'huggingface' },
  { file: 'checkpoint.pth', opts: { numHeads: 2 }, outputs: 'ckpt.teacher', format: 'pth', naming: 'reference-checkpoint' },
  { file: 'checkpoint.pth', opts: { numHeads: 2, key: 'student' }, outputs: 'ckpt.student', format: 'pth', naming: 'reference-checkpoint' },
  { file: 'run.safetensors', outputs: 'ckpt.teacher', format: 'safetensors', naming: 'dino-ts' },
  { file: 'run.safetensors', opts: { key: 'student' }, outputs: 'ckpt.student', format: 'safetensors', naming: 'dino-ts' },
];

describeBackends('weights files vs the reference', (backend) => {
  const input = () => {
    const a = expected.tensors.input;
    return tf.tensor4d(a.data as Float32Array, a.shape as [number, number, number, number]);
  };

  for (const c of CASES) {
    const label = `${c.file}${c.opts?.key ? ` (${c.opts.key})` : ''}`;
    it(`${label}: CLS features and last attention within ${ATOL}`, async () => {
      const file = readWeights(bytes(c.file), { ...c.opts, source: c.file });
      expect(file.format).toBe(c.format);
      expect(file.naming).toBe(c.naming);
      const vit = loadVisionTransformer(file, { source: c.file });
      try {
        const x = input();
        const cls = vit.forward(x);
        const attn = vit.getLastSelfAttention(x);
        expect(cls.shape).toEqual(expected.tensors[`${c.outputs}.cls`].shape);
        expect(attn.shape).toEqual(expected.tensors[`${c.outputs}.attention`].shape);
        assertClose(await cls.data(), fx(expected.tensors, `${c.outputs}.cls`), ATOL, `${backend} ${label} cls`);
        assertClose(await attn.data(), fx(expected.tensors, `${c.outputs}.attention`), ATOL, `${backend} ${label} attention`);
      } finally {
        vit.dispose();
      }
    });
  }
});

describeBackends(
  'weights files: what readWeights reports',
  () => {
    it('a published backbone: the architecture from the shapes alone, heads = D / 64', () => {
      const f = readWeights(bytes('vit.pth'));
      expect(f.arch).toEqual({
        imgSize: PUB.img_size,
        patchSize: PUB.patch_size,
        inChans: 3,
        embedDim: PUB.embed_dim,
        depth: PUB.depth,
        numHeads: PUB.num_heads,
        mlpRatio: PUB.mlp_ratio,
        qkvBias: true,
      });
      expect(f.numHeadsFrom).toBe('default');
      expect(Object.keys(f.backbone)).toEqual(JSON.parse(expected.metadata.pub_order));
      expect(f.head).toBeUndefined();
      expect(f.key).toBeUndefined();
    });

    it('half-precision files keep their dtype in sourceDtype', () => {
      expect(readWeights(bytes('vit_f16.pth')).backbone.cls_token.sourceDtype).toBe('F16');
      expect(readWeights(bytes('vit_bf16.safetensors')).backbone.cls_token.sourceDtype).toBe('BF16');
      const hf = readWeights(bytes('vit_hf_f16.safetensors'));
      expect(hf.backbone['blocks.1.attn.qkv.weight'].sourceDtype).toBe('F16');
      expect(hf.ignored.sort()).toEqual(['vit.pooler.dense.bias', 'vit.pooler.dense.weight']);
    });

    it('a legacy file gives the same tensors as the zip one', () => {
      const a = readWeights(bytes('vit.pth')).backbone;
      const b = readWeights(bytes('vit_legacy.pth')).backbone;
      expect(Object.keys(b)).toEqual(Object.keys(a));
      for (const k of Object.keys(a)) expect(b[k]).toEqual(a[k]);
    });

    it('a reference training checkpoint: teacher by default, the head, epoch and args', () => {
      const f = readWeights(bytes('checkpoint.pth'), { numHeads: CKPT.num_heads });
      expect(f.key).toBe('teacher');
      expect(f.numHeadsFrom).toBe('option');
      expect(f.metadata.epoch).toBe(1);
      const args = f.metadata.args as Record<string, unknown>;
      expect(args.arch).toBe('vit_fixture');
      expect(args.clip_grad).toBe(3);
      expect(args.global_crops_scale).toEqual(expect.objectContaining({ items: [0.4, 1] }));
      expect(Object.keys(f.head!)).toEqual(JSON.parse(expected.metadata.head_order));
      expect(inferDinoHeadConfig(f.head!)).toEqual({
        inDim: CKPT.embed_dim,
        outDim: HEAD.out_dim,
        useBn: true,
        nlayers: HEAD.nlayers,
        hiddenDim: HEAD.hidden_dim,
        bottleneckDim: HEAD.bottleneck_dim,
        normLastLayer: true,
      });
      // The student is stored under DDP's module. prefix: the same names come out.
      const s = readWeights(bytes('checkpoint.pth'), { numHeads: CKPT.num_heads, key: 'student' });
      expect(Object.keys(s.backbone)).toEqual(Object.keys(f.backbone));
      expect(Object.keys(s.head!)).toEqual(Object.keys(f.head!));
    });

    it("the checkpoint's optimizer reads as data: NumPy lr / weight decay as numbers, state keyed by index", () => {
      const { value } = readPth(bytes('checkpoint.pth'));
      const optimizer = (value as PickleDict).get('optimizer') as PickleDict;
      const groups = (optimizer.get('param_groups') as PickleDict[]).map((g) => ({ lr: g.get('lr'), weight_decay: g.get('weight_decay') }));
      expect(groups).toEqual(JSON.parse(expected.metadata.param_groups));
      const state = optimizer.get('state') as PickleDict;
      expect([...state.keys()].every((k) => typeof k === 'number')).toBe(true);
      expect(isNamedArray((state.get(0) as PickleDict).get('exp_avg'))).toBe(true);
      const loss = (value as PickleDict).get('dino_loss') as PickleDict;
      expect((loss.get('center') as NamedArray).shape).toEqual([1, HEAD.out_dim]);
    });

    it('a checkpoint whose heads are not D / 64 reads, and says to pass numHeads when loaded', () => {
      const f = readWeights(bytes('checkpoint.pth'));
      expect(f.arch).toBeUndefined();
      expect(f.archError).toMatch(/pass numHeads/);
      expect(() => loadVisionTransformer(f, { source: 'checkpoint.pth' })).toThrow(/embedDim 32 is not a multiple of 64.*pass numHeads/);
    });

    it("a dino-ts run: heads from its config, optimizer and loss state left out", () => {
      const f = readWeights(bytes('run.safetensors'));
      expect(f.numHeadsFrom).toBe('metadata');
      expect(f.arch!.numHeads).toBe(CKPT.num_heads);
      expect(f.ignored).toEqual([]);
      expect(Object.keys(f.backbone).every((k) => !k.startsWith('optimizer'))).toBe(true);
      expect(Object.keys(f.head!)).toEqual(expect.arrayContaining(['mlp.0.weight', 'last_layer.weight_v', 'mlp.1.running_mean']));
    });

    it('asking for a key the file does not have is a DataError naming it', () => {
      expect(() => readWeights(bytes('vit.pth'), { key: 'student' })).toThrow(DataError);
      expect(() => readWeights(bytes('vit.pth'), { key: 'student', source: 'vit.pth' })).toThrow(/vit\.pth: no "student" state dict/);
      expect(() => readWeights(bytes('vit_bf16.safetensors'), { key: 'teacher' })).toThrow(/single state dict/);
    });
  },
  ['cpu'],
);
