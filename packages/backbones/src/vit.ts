/**
 * The Vision Transformer of the DINO reference (facebookresearch/dino `vision_transformer.py`,
 * itself timm's ViT): patch embedding, CLS token, learned position embedding (bicubically
 * interpolated for other input sizes), pre-norm blocks with stochastic depth, final LayerNorm.
 *
 * Parameters carry the reference's state-dict names and layouts, so a PyTorch DINO checkpoint's
 * backbone loads with `loadParams(vit.params(), arrays)` and vice versa.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  ShapeError,
  checkInt,
  disposeParams,
  onesVariable,
  truncNormalVariable,
  variable,
  zerosVariable,
  type Params,
} from '@dino-ts/core';
import type { Backbone, BackboneFeatures, ForwardOptions } from './types';
import {
  LAYER_NORM_EPS,
  dropPathSchedule,
  resolveVitConfig,
  type ResolvedVitConfig,
  type VitConfig,
} from './vit-config';
import { dropPath, gelu, layerNorm, linear } from './nn';
import { patchEmbed } from './patch-embed';
import { interpolatePosEmbed } from './pos-embed';

interface BlockParams {
  norm1W: tf.Variable<tf.Rank.R1>;
  norm1B: tf.Variable<tf.Rank.R1>;
  qkvW: tf.Variable<tf.Rank.R2>;
  qkvB?: tf.Variable<tf.Rank.R1>;
  projW: tf.Variable<tf.Rank.R2>;
  projB: tf.Variable<tf.Rank.R1>;
  norm2W: tf.Variable<tf.Rank.R1>;
  norm2B: tf.Variable<tf.Rank.R1>;
  fc1W: tf.Variable<tf.Rank.R2>;
  fc1B: tf.Variable<tf.Rank.R1>;
  fc2W: tf.Variable<tf.Rank.R2>;
  fc2B: tf.Variable<tf.Rank.R1>;
}

/** Drop-path state of one forward pass: per-block rates and the random source, or none. */
interface DropState {
  rates: number[];
  rng: Rng;
}

/**
 * ViT backbone. Input NHWC [B, H, W, C]; H and W any multiples of the patch size (the position
 * embedding is interpolated to the input's grid).
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { VisionTransformer } from '@dino-ts/backbones';
 * const vit = new VisionTransformer({ imgSize: 32, patchSize: 4, embedDim: 64, depth: 4, numHeads: 4 });
 * const cls = vit.forward(tf.randomNormal([2, 32, 32, 3]));      // [2, 64]
 * const attn = vit.getLastSelfAttention(tf.randomNormal([1, 32, 32, 3])); // [1, 4, 65, 65]
 */
export class VisionTransformer implements Backbone {
  readonly name: string;
  readonly config: ResolvedVitConfig;
  readonly embedDim: number;
  readonly patchSize: number;
  readonly inChans: number;
  readonly hasSelfAttention = true;
  readonly depth: number;
  readonly numHeads: number;

  private readonly clsToken: tf.Variable<tf.Rank.R3>;
  private readonly posEmbed: tf.Variable<tf.Rank.R3>;
  private readonly patchW: tf.Variable<tf.Rank.R4>;
  private readonly patchB: tf.Variable<tf.Rank.R1>;
  private readonly blocks: BlockParams[] = [];
  private readonly normW: tf.Variable<tf.Rank.R1>;
  private readonly normB: tf.Variable<tf.Rank.R1>;
  private readonly paramMap: Params = new Map();
  private readonly dropRates: number[];
  /** Drop-path randomness used when a training forward gets no `rng`. */
  private readonly defaultRng: Rng;

  constructor(config: VitConfig, name = 'vit') {
    const c = resolveVitConfig(config);
    this.config = c;
    this.name = name;
    this.embedDim = c.embedDim;
    this.patchSize = c.patchSize;
    this.inChans = c.inChans;
    this.depth = c.depth;
    this.numHeads = c.numHeads;
    this.dropRates = dropPathSchedule(c.dropPathRate, c.depth);

    const rng = new Rng(c.seed);
    const d = c.embedDim;
    const p = c.patchSize;
    const numPatches = c.grid[0] * c.grid[1];
    const add = <T extends tf.Variable>(key: string, v: T): T => {
      this.paramMap.set(key, v);
      return v;
    };
    // Creation order = the reference's state-dict order.
    this.clsToken = add('cls_token', truncNormalVariable('cls_token', [1, 1, d], rng)) as tf.Variable<tf.Rank.R3>;
    this.posEmbed = add('pos_embed', truncNormalVariable('pos_embed', [1, numPatches + 1, d], rng)) as tf.Variable<tf.Rank.R3>;
    // The reference leaves the patch conv at PyTorch's default init: U(-1/sqrt(fanIn), 1/sqrt(fanIn))
    // for weight and bias (kaiming_uniform with a = sqrt(5)).
    const fanIn = c.inChans * p * p;
    const bound = 1 / Math.sqrt(fanIn);
    const uniform = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-bound, bound));
    this.patchW = add(
      'patch_embed.proj.weight',
      tf.tidy(() => variable('patch_embed.proj.weight', tf.tensor4d(uniform(d * fanIn), [d, c.inChans, p, p]))),
    ) as tf.Variable<tf.Rank.R4>;
    this.patchB = add(
      'patch_embed.proj.bias',
      tf.tidy(() => variable('patch_embed.proj.bias', tf.tensor1d(uniform(d)))),
    ) as tf.Variable<tf.Rank.R1>;
    const hidden = c.mlpHiddenDim;
    for (let i = 0; i < c.depth; i++) {
      const k = (s: string) => `blocks.${i}.${s}`;
      const tn = (s: string, shape: number[]) => add(k(s), truncNormalVariable(k(s), shape, rng)) as tf.Variable<tf.Rank.R2>;
      const z = (s: string, n: number) => add(k(s), zerosVariable(k(s), [n])) as tf.Variable<tf.Rank.R1>;
      const o = (s: string, n: number) => add(k(s), onesVariable(k(s), [n])) as tf.Variable<tf.Rank.R1>;
      const norm1W = o('norm1.weight', d);
      const norm1B = z('norm1.bias', d);
      const qkvW = tn('attn.qkv.weight', [3 * d, d]);
      const qkvB = c.qkvBias ? z('attn.qkv.bias', 3 * d) : undefined;
      const projW = tn('attn.proj.weight', [d, d]);
      const projB = z('attn.proj.bias', d);
      const norm2W = o('norm2.weight', d);
      const norm2B = z('norm2.bias', d);
      const fc1W = tn('mlp.fc1.weight', [hidden, d]);
      const fc1B = z('mlp.fc1.bias', hidden);
      const fc2W = tn('mlp.fc2.weight', [d, hidden]);
      const fc2B = z('mlp.fc2.bias', d);
      this.blocks.push({ norm1W, norm1B, qkvW, qkvB, projW, projB, norm2W, norm2B, fc1W, fc1B, fc2W, fc2B });
    }
    this.normW = add('norm.weight', onesVariable('norm.weight', [d])) as tf.Variable<tf.Rank.R1>;
    this.normB = add('norm.bias', zerosVariable('norm.bias', [d])) as tf.Variable<tf.Rank.R1>;
    this.defaultRng = rng.fork();
  }

  /** The parameters under the reference's state-dict names, in its order. */
  params(): Params {
    return new Map(this.paramMap);
  }

  /** Final-normalised CLS token [B, embedDim] (the reference's `forward`). */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    this.checkInput(x);
    return tf.tidy(() => {
      const tokens = this.runBlocks(this.prepareTokens(x), this.dropState(opts), this.depth);
      return tf.squeeze(tf.slice(this.finalNorm(tokens), [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
    });
  }

  /** CLS token [B, D] and patch tokens [B, N, D], both after the final norm. */
  forwardFeatures(x: tf.Tensor4D, opts: ForwardOptions = {}): BackboneFeatures {
    this.checkInput(x);
    return tf.tidy(() => {
      const normed = this.finalNorm(this.runBlocks(this.prepareTokens(x), this.dropState(opts), this.depth));
      const cls = tf.squeeze(tf.slice(normed, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
      const patchTokens = tf.slice(normed, [0, 1, 0], [-1, -1, -1]) as tf.Tensor3D;
      return { cls, patchTokens };
    });
  }

  /**
   * Tokens [B, N+1, D] of the last `n` blocks, each through the final norm, oldest first
   * (the reference's `get_intermediate_layers`; eval mode).
   */
  getIntermediateLayers(x: tf.Tensor4D, n = 1): tf.Tensor3D[] {
    checkInt('n', n, 1, this.depth);
    this.checkInput(x);
    return tf.tidy(() => {
      const out: tf.Tensor3D[] = [];
      let t = this.prepareTokens(x);
      for (let i = 0; i < this.depth; i++) {
        t = this.block(t, i, null);
        if (this.depth - i <= n) out.push(this.finalNorm(t));
      }
      return out;
    });
  }

  /** Softmax attention of the last block [B, heads, N+1, N+1]; row 0 is the CLS query (eval mode). */
  getLastSelfAttention(x: tf.Tensor4D): tf.Tensor4D {
    this.checkInput(x);
    return tf.tidy(() => {
      const t = this.runBlocks(this.prepareTokens(x), null, this.depth - 1);
      const blk = this.blocks[this.depth - 1];
      return this.attention(layerNorm(t, blk.norm1W, blk.norm1B, LAYER_NORM_EPS), blk).attn;
    });
  }

  /**
   * The position embedding used for a `height` x `width` pixel input: [1, 1 + N, D], bicubically
   * interpolated from the built grid when the grids differ (the reference's
   * `interpolate_pos_encoding`). The caller owns the returned tensor.
   */
  interpolatePosEncoding(height: number, width: number): tf.Tensor3D {
    const p = this.patchSize;
    for (const [param, v] of [['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v < p || v % p !== 0) {
        throw new ConfigError(param, v, `must be a positive multiple of patchSize (${p})`);
      }
    }
    return tf.tidy(() => tf.clone(interpolatePosEmbed(this.posEmbed, this.config.grid, [height / p, width / p])));
  }

  dispose(): void {
    disposeParams(this.paramMap);
  }

  /** Throws a ShapeError unless x is [B, H, W, inChans] with H, W positive multiples of the patch. */
  private checkInput(x: tf.Tensor): void {
    const p = this.patchSize;
    const shape: number[] = x != null && Array.isArray(x.shape) ? x.shape : [];
    const [b = 0, h = 0, w = 0, c = 0] = shape;
    const ok = shape.length === 4 && b > 0 && c === this.inChans && h >= p && h % p === 0 && w >= p && w % p === 0;
    if (!ok) {
      throw new ShapeError(
        `${this.name}: input must be NHWC [B, H, W, ${this.inChans}] with H and W positive multiples of ` +
          `patchSize ${p}; got ${shape.length ? `[${shape.join(', ')}]` : String(x)}`,
      );
    }
  }

  private dropState(opts: ForwardOptions): DropState | null {
    if (!opts.training || this.config.dropPathRate === 0) return null;
    return { rates: this.dropRates, rng: opts.rng ?? this.defaultRng };
  }

  /** Patch tokens with the CLS token in front, plus the (interpolated) position embedding. */
  private prepareTokens(x: tf.Tensor4D): tf.Tensor3D {
    const [b, height, width] = x.shape;
    const d = this.embedDim;
    const p = this.patchSize;
    const patches = patchEmbed(x, this.patchW, this.patchB);
    // Broadcasting add rather than tile: its gradient is one sum, tile's is a slice per copy.
    const cls = tf.add(tf.zeros([b, 1, d]), this.clsToken);
    const tokens = tf.concat([cls, patches], 1);
    const pos = interpolatePosEmbed(this.posEmbed, this.config.grid, [height / p, width / p]);
    return tf.add(tokens, pos);
  }

  private runBlocks(t: tf.Tensor3D, drop: DropState | null, count: number): tf.Tensor3D {
    for (let i = 0; i < count; i++) t = this.block(t, i, drop);
    return t;
  }

  private finalNorm(t: tf.Tensor3D): tf.Tensor3D {
    return layerNorm(t, this.normW, this.normB, LAYER_NORM_EPS) as tf.Tensor3D;
  }

  /** Pre-norm block: x + dropPath(attn(norm1(x))), then x + dropPath(mlp(norm2(x))). */
  private block(x: tf.Tensor3D, i: number, drop: DropState | null): tf.Tensor3D {
    const blk = this.blocks[i];
    const rate = drop ? drop.rates[i] : 0;
    const branch = (y: tf.Tensor) => (drop && rate > 0 ? dropPath(y, rate, drop.rng) : y);
    const { out: attnOut } = this.attention(layerNorm(x, blk.norm1W, blk.norm1B, LAYER_NORM_EPS), blk);
    const x1 = tf.add(x, branch(attnOut));
    const h = linear(gelu(linear(layerNorm(x1, blk.norm2W, blk.norm2B, LAYER_NORM_EPS), blk.fc1W, blk.fc1B)), blk.fc2W, blk.fc2B);
    return tf.add(x1, branch(h)) as tf.Tensor3D;
  }

  /** Multi-head self-attention with the reference's scale head_dim^-0.5. */
  private attention(x: tf.Tensor, blk: BlockParams): { out: tf.Tensor3D; attn: tf.Tensor4D } {
    const [b, n, d] = x.shape as [number, number, number];
    const heads = this.numHeads;
    const hd = d / heads;
    const qkv = linear(x, blk.qkvW, blk.qkvB);
    // The 3D outputs are ordered (q|k|v, head, head_dim), as the reference's reshape(B, N, 3, H, hd).
    const [q, k, v] = tf.split(qkv, 3, 2).map((t) => tf.reshape(t, [b, n, heads, hd]));
    const qh = tf.transpose(q, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, N, hd]
    const kt = tf.transpose(k, [0, 2, 3, 1]) as tf.Tensor4D; // [B, H, hd, N]
    const vh = tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, N, hd]
    const attn = tf.softmax(tf.mul(tf.matMul(qh, kt), hd ** -0.5)) as tf.Tensor4D;
    const ctx = tf.reshape(tf.transpose(tf.matMul(attn, vh), [0, 2, 1, 3]), [b, n, d]);
    return { out: linear(ctx, blk.projW, blk.projB) as tf.Tensor3D, attn };
  }
}
