/**
 * The Vision Transformer of the DINO reference (facebookresearch/dino `vision_transformer.py`,
 * itself timm's ViT): patch embedding, CLS token, learned position embedding (bicubically
 * interpolated for other input sizes), pre-norm blocks with stochastic depth, final LayerNorm.
 * The blocks and their parts (attention, MLP, norms) come from factories in the config, as timm's
 * `block_fn`, `attn_layer`, `mlp_layer`, `norm_layer`; the defaults are the reference's.
 *
 * Parameters carry the reference's state-dict names and layouts, so a PyTorch DINO checkpoint's
 * backbone loads with `loadParams(vit.params(), arrays)` and vice versa.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Module, ModuleList, Rng, ShapeError, checkInt, truncNormalVariable } from '@dino-ts/core';
import type { Backbone, BackboneFeatures, ForwardOptions } from './types';
import { dropPathSchedule, resolveVitConfig, type ResolvedVitConfig, type VitConfig } from './vit-config';
import type { BlockForwardOptions, BlockLayer, NormLayer } from './block';
import { PatchEmbed } from './patch-embed';
import { interpolatePosEmbed } from './pos-embed';

/**
 * ViT backbone. Input NHWC [B, H, W, C]; H and W any multiples of the patch size (the position
 * embedding is interpolated to the input's grid).
 *
 * Module tree (= state-dict names): `cls_token`, `pos_embed`, `patch_embed.proj`,
 * `blocks.<i>` (`norm1`, `attn.qkv`, `attn.proj`, `norm2`, `mlp.fc1`, `mlp.fc2` with the default
 * parts), `norm`.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { VisionTransformer } from '@dino-ts/backbones';
 * const vit = new VisionTransformer({ imgSize: 32, patchSize: 4, embedDim: 64, depth: 4, numHeads: 4 });
 * const cls = vit.forward(tf.randomNormal([2, 32, 32, 3]));      // [2, 64]
 * const attn = vit.getLastSelfAttention(tf.randomNormal([1, 32, 32, 3])); // [1, 4, 65, 65]
 */
export class VisionTransformer extends Module implements Backbone {
  readonly name: string;
  readonly config: ResolvedVitConfig;
  readonly embedDim: number;
  readonly patchSize: number;
  readonly inChans: number;
  /** [height, width] the position embedding is built for (other sizes are interpolated). */
  readonly imgSize: [number, number];
  /** Number of blocks. */
  readonly depth: number;
  readonly numHeads: number;
  /** Whether the last block exposes its attention map (true with the standard attention). */
  readonly hasSelfAttention: boolean;

  readonly clsToken: tf.Variable<tf.Rank.R3>;
  readonly posEmbed: tf.Variable<tf.Rank.R3>;
  readonly patchEmbed: PatchEmbed;
  readonly blocks: ModuleList<BlockLayer>;
  readonly norm: NormLayer;
  /** Drop-path randomness used when a training forward gets no `rng`. */
  private readonly defaultRng: Rng;

  constructor(config: VitConfig, name = 'vit') {
    super();
    const c = resolveVitConfig(config);
    this.config = c;
    this.name = name;
    this.embedDim = c.embedDim;
    this.patchSize = c.patchSize;
    this.inChans = c.inChans;
    this.imgSize = [c.imgSize[0], c.imgSize[1]];
    this.depth = c.depth;
    this.numHeads = c.numHeads;

    const rng = new Rng(c.seed);
    const d = c.embedDim;
    const numPatches = c.grid[0] * c.grid[1];
    // Creation order = the reference's state-dict order and the order of draws from `rng`.
    this.clsToken = this.registerParameter('cls_token', truncNormalVariable('cls_token', [1, 1, d], rng) as tf.Variable<tf.Rank.R3>);
    this.posEmbed = this.registerParameter(
      'pos_embed',
      truncNormalVariable('pos_embed', [1, numPatches + 1, d], rng) as tf.Variable<tf.Rank.R3>,
    );
    this.patchEmbed = this.registerModule('patch_embed', new PatchEmbed({ inChans: c.inChans, embedDim: d, patchSize: c.patchSize, rng }));
    const rates = dropPathSchedule(c.dropPathRate, c.depth);
    const { attnLayer, mlpLayer, normLayer } = c;
    this.blocks = this.registerModule('blocks', new ModuleList<BlockLayer>());
    for (const rate of rates) {
      this.blocks.append(
        c.blockFn({ dim: d, numHeads: c.numHeads, mlpHiddenDim: c.mlpHiddenDim, qkvBias: c.qkvBias, dropPath: rate, rng, normLayer, attnLayer, mlpLayer }),
      );
    }
    this.norm = this.registerModule('norm', normLayer(d));
    this.hasSelfAttention = typeof this.blocks.get(c.depth - 1).getAttention === 'function';
    this.defaultRng = rng.fork();
  }

  /**
   * Final-normalised CLS token [B, embedDim] (the reference's `forward`). Only the CLS row of
   * the last block's output is used, so that block runs for the CLS token alone (its attention
   * still reads every token): the same values, with ~3/4 of the last block's work left out.
   */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    this.checkInput(x);
    return tf.tidy(() => {
      const blockOpts = this.blockOptions(opts);
      const tokens = this.runBlocks(this.prepareTokens(x), blockOpts, this.depth - 1);
      const last = this.blocks.get(this.depth - 1);
      const cls = last.forwardCls ? last.forwardCls(tokens, blockOpts) : tf.slice(last.forward(tokens, blockOpts), [0, 0, 0], [-1, 1, -1]);
      return tf.squeeze(this.norm.forward(cls as tf.Tensor3D), [1]) as tf.Tensor2D;
    });
  }

  /** CLS token [B, D] and patch tokens [B, N, D], both after the final norm. */
  forwardFeatures(x: tf.Tensor4D, opts: ForwardOptions = {}): BackboneFeatures {
    this.checkInput(x);
    return tf.tidy(() => {
      const normed = this.norm.forward(this.runBlocks(this.prepareTokens(x), this.blockOptions(opts), this.depth));
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
        t = this.blocks.get(i).forward(t, EVAL);
        if (this.depth - i <= n) out.push(this.norm.forward(t));
      }
      return out;
    });
  }

  /** Softmax attention of the last block [B, heads, N+1, N+1]; row 0 is the CLS query (eval mode). */
  getLastSelfAttention(x: tf.Tensor4D): tf.Tensor4D {
    const last = this.blocks.get(this.depth - 1);
    if (!last.getAttention) {
      throw new ConfigError('attnLayer', this.name, "exposes no attention map (its last block's attention layer has no getAttention)");
    }
    this.checkInput(x);
    return tf.tidy(() => last.getAttention!(this.runBlocks(this.prepareTokens(x), EVAL, this.depth - 1)));
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

  /** Block options of a forward: training (drop path) only when asked, with the caller's rng. */
  private blockOptions(opts: ForwardOptions): BlockForwardOptions {
    const training = opts.training ?? this.training;
    return training ? { training: true, rng: opts.rng ?? this.defaultRng } : EVAL;
  }

  /** Patch tokens with the CLS token in front, plus the (interpolated) position embedding. */
  private prepareTokens(x: tf.Tensor4D): tf.Tensor3D {
    const [b, height, width] = x.shape;
    const d = this.embedDim;
    const p = this.patchSize;
    const patches = this.patchEmbed.forward(x);
    // Broadcasting add rather than tile: its gradient is one sum, tile's is a slice per copy.
    const cls = tf.add(tf.zeros([b, 1, d]), this.clsToken);
    const tokens = tf.concat([cls, patches], 1);
    const pos = interpolatePosEmbed(this.posEmbed, this.config.grid, [height / p, width / p]);
    return tf.add(tokens, pos);
  }

  private runBlocks(t: tf.Tensor3D, opts: BlockForwardOptions, count: number): tf.Tensor3D {
    for (let i = 0; i < count; i++) t = this.blocks.get(i).forward(t, opts);
    return t;
  }
}

/** Explicit eval mode for the evaluation outputs, whatever mode the model is in. */
const EVAL: BlockForwardOptions = Object.freeze({ training: false });
