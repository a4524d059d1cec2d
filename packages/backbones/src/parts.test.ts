// The ViT built from replaceable parts (timm's attn_layer / mlp_layer / norm_layer / block_fn),
// the module tree behind its names, train / eval modes, and the Backbone facts of both backbones.
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, ConfigError, LayerNorm, Linear, Module, loadParams, paramsToArrays } from '@dino-ts/core';
import { useBackend } from '@dino-ts/core/testing';
import { VisionTransformer } from './vit';
import { ResNet } from './resnet';
import { Attention, type AttentionOptions } from './attention';
import { Mlp, type MlpLayer, type MlpOptions } from './mlp';
import { Block, type BlockOptions } from './block';
import type { VitConfig } from './vit-config';

const tiny: VitConfig = { imgSize: [8, 12], patchSize: 4, embedDim: 8, depth: 2, numHeads: 2, seed: 5 };

/** A ReLU MLP with the standard MLP's parameter names; counts its forward calls. */
class ReluMlp extends Module implements MlpLayer {
  static calls = 0;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor({ inFeatures, hiddenFeatures, rng }: MlpOptions) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(inFeatures, hiddenFeatures, { rng }));
    this.fc2 = this.registerModule('fc2', new Linear(hiddenFeatures, inFeatures, { rng }));
  }
  forward(x: tf.Tensor3D): tf.Tensor3D {
    ReluMlp.calls++;
    return tf.tidy(() => this.fc2.forward(tf.relu(this.fc1.forward(x))));
  }
}

/** Attention without an attention map (as a linear-attention layer would be). */
class OpaqueAttention extends Module {
  readonly inner: Attention;
  constructor(o: AttentionOptions) {
    super();
    this.inner = this.registerModule('inner', new Attention(o));
  }
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return this.inner.forward(x);
  }
}

function image(h: number, w: number): tf.Tensor4D {
  return tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
}

describe('ViT parts', () => {
  beforeAll(() => useBackend('cpu'));

  it('is a module tree whose names are the reference state dict', () => {
    const vit = new VisionTransformer(tiny);
    expect(vit.namedChildren().map(([k]) => k)).toEqual(['patch_embed', 'blocks', 'norm']);
    const blk = vit.blocks.get(0) as Block;
    expect(blk).toBeInstanceOf(Block);
    expect(blk.attn).toBeInstanceOf(Attention);
    expect(blk.mlp).toBeInstanceOf(Mlp);
    expect(blk.norm1).toBeInstanceOf(LayerNorm);
    expect((blk.norm1 as LayerNorm).eps).toBe(1e-6);
    expect([...blk.params().keys()]).toEqual([
      'norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'attn.proj.bias',
      'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias',
    ]);
    expect(vit.params().get('blocks.1.mlp.fc2.bias')).toBe((vit.blocks.get(1) as Block).mlp.params().get('fc2.bias'));
    expect(vit.buffers().size).toBe(0);
    vit.dispose();
  });

  it('a custom MLP (ReLU) is used in every block and keeps the reference parameter layout', async () => {
    const standard = new VisionTransformer(tiny);
    const relu = new VisionTransformer({ ...tiny, mlpLayer: (o) => new ReluMlp(o) });
    for (const blk of relu.blocks) expect((blk as Block).mlp).toBeInstanceOf(ReluMlp);
    // Same names, order and shapes as the standard ViT; and, drawing from the model's generator
    // in the same order, the same initial values.
    expect([...relu.params().keys()]).toEqual([...standard.params().keys()]);
    const a = await paramsToArrays(standard.params());
    const b = await paramsToArrays(relu.params());
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.data as Float32Array), k).toEqual(Array.from(a[k]!.data as Float32Array));
    // Reference-layout weights load strictly.
    loadParams(relu.params(), a, { source: 'standard ViT' });

    const x = image(8, 12);
    ReluMlp.calls = 0;
    const y = relu.forward(x);
    expect(ReluMlp.calls).toBe(tiny.depth);
    const yStandard = standard.forward(x);
    // Same weights, ReLU instead of GELU: a different function.
    const diff = tf.max(tf.abs(tf.sub(y, yStandard)));
    expect((await diff.data())[0]).toBeGreaterThan(1e-4);
    tf.dispose([x, y, yStandard, diff]);
    standard.dispose();
    relu.dispose();
  });

  it('custom norm, attention and block factories: names follow the parts', () => {
    let blocks = 0;
    const vit = new VisionTransformer({
      ...tiny,
      normLayer: (dim) => new LayerNorm(dim, { eps: 1e-5 }),
      attnLayer: (o) => new OpaqueAttention(o),
      blockFn: (o: BlockOptions) => {
        blocks++;
        return new Block(o);
      },
    });
    expect(blocks).toBe(tiny.depth);
    expect(vit.params().has('blocks.0.attn.inner.qkv.weight')).toBe(true);
    expect((vit.norm as LayerNorm).eps).toBe(1e-5);
    // Without an attention map the ViT says so, and getLastSelfAttention refuses clearly.
    expect(vit.hasSelfAttention).toBe(false);
    const x = image(8, 12);
    expect(() => vit.getLastSelfAttention(x)).toThrow(/attention map/);
    const y = vit.forward(x);
    expect(y.shape).toEqual([2, 8]);
    tf.dispose([x, y]);
    vit.dispose();
  });

  it('rejects a factory that is not a function, or that does not build a Module', () => {
    try {
      new VisionTransformer({ ...tiny, mlpLayer: 3 as never });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).param).toBe('mlpLayer');
    }
    expect(() => new VisionTransformer({ ...tiny, mlpLayer: () => ({ forward: (x: tf.Tensor3D) => x }) as never })).toThrow(ConfigError);
  });

  it('train() turns drop path on for calls that do not say; eval() and training: false turn it off', async () => {
    tf.engine().startScope();
    const vit = new VisionTransformer({ ...tiny, dropPathRate: 0.5 });
    const x = tf.randomNormal([8, 8, 12, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const same = async (a: tf.Tensor, b: tf.Tensor) => (await tf.max(tf.abs(tf.sub(a, b))).data())[0] === 0;
    const evalOut = vit.forward(x);
    vit.train();
    expect(vit.blocks.get(1).training).toBe(true);
    const trainOut = vit.forward(x);
    expect(await same(trainOut, evalOut)).toBe(false);
    expect(await same(vit.forward(x, { training: false }), evalOut)).toBe(true);
    // The evaluation outputs are eval mode whatever the model's mode.
    const [last] = vit.getIntermediateLayers(x, 1);
    vit.eval();
    expect(await same(last!, vit.getIntermediateLayers(x, 1)[0]!)).toBe(true);
    expect(await same(vit.forward(x), evalOut)).toBe(true);
    vit.dispose();
    tf.engine().endScope();
  });
});

describe('Backbone facts and the shared BatchNorm', () => {
  beforeAll(() => useBackend('cpu'));

  it('ViT: inChans, depth, imgSize, patchSize, embedDim', () => {
    const vit = new VisionTransformer({ ...tiny, inChans: 1 });
    expect([vit.inChans, vit.depth, vit.imgSize, vit.patchSize, vit.embedDim]).toEqual([1, 2, [8, 12], 4, 8]);
    vit.dispose();
  });

  it('ResNet: 4 stages, output stride as patchSize, nominal imgSize; its BatchNorms are the core class', () => {
    const small = new ResNet({ width: 2, smallInput: true, inChans: 1 });
    expect([small.inChans, small.depth, small.imgSize, small.patchSize, small.embedDim]).toEqual([1, 4, [32, 32], 8, 16]);
    const bns = small.namedModules().filter(([, m]) => m instanceof BatchNorm);
    // bn1, two per block (8 blocks), and the downsample of stages 2-4.
    expect(bns.length).toBe(1 + 16 + 3);
    expect(bns.every(([, m]) => m.constructor === BatchNorm)).toBe(true);
    expect(bns.map(([k]) => k)).toContain('layer2.0.downsample.1');
    small.dispose();
    const big = new ResNet({ width: 1, imgSize: [64, 96] });
    expect([big.imgSize, big.patchSize]).toEqual([[64, 96], 32]);
    big.dispose();
    const imagenet = new ResNet({ width: 1 });
    expect(imagenet.imgSize).toEqual([224, 224]);
    imagenet.dispose();
    expect(() => new ResNet({ imgSize: 0 })).toThrow(ConfigError);
  });
});
