/**
 * Configuration of the Vision Transformer: the reference's constructor arguments
 * (facebookresearch/dino `VisionTransformer`, via timm), with its defaults written once.
 */
import { ConfigError, LayerNorm, checkInt, checkNumber } from '@dino-ts/core';
import { Attention, type AttentionFactory } from './attention';
import { Mlp, type MlpFactory } from './mlp';
import { Block, type BlockFactory, type NormLayerFactory } from './block';

export interface VitConfig {
  /** Image size the position embedding is built for: a number (square) or [height, width]. */
  imgSize?: number | [number, number];
  /** Patch size in pixels (16 or 8 in the paper; anything that divides the image). */
  patchSize?: number;
  /** Input channels. */
  inChans?: number;
  /** Token dimension D. */
  embedDim: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads (must divide embedDim). */
  numHeads: number;
  /** MLP hidden size = round-down(embedDim * mlpRatio). */
  mlpRatio?: number;
  /** Bias in the qkv projection (true for every DINO model). */
  qkvBias?: boolean;
  /** Stochastic depth of the last block; block i gets dropPathRate * i / (depth - 1). */
  dropPathRate?: number;
  /** Seed of the parameter initialisation (and of drop path when no rng is passed). */
  seed?: number;
  /**
   * Builds each block's attention (timm's `attn_layer`). Default: the standard `Attention`.
   * Its parameters are named under `blocks.<i>.attn.`.
   */
  attnLayer?: AttentionFactory;
  /** Builds each block's MLP (timm's `mlp_layer`). Default: `Mlp` (fc1, GELU, fc2), under `blocks.<i>.mlp.`. */
  mlpLayer?: MlpFactory;
  /**
   * Builds every normalisation layer: each block's `norm1` and `norm2` and the final `norm`
   * (timm's `norm_layer`). Default: LayerNorm with eps 1e-6.
   */
  normLayer?: NormLayerFactory;
  /**
   * Builds each block from the options above (timm's `block_fn`); it is given the part
   * factories, so a custom block can still use a custom MLP. Default: the pre-norm `Block`.
   */
  blockFn?: BlockFactory;
}

/** The defaults of `VitConfig` (reference: img 224, patch 16, RGB, MLP ratio 4, qkv bias). */
export const VIT_DEFAULTS = {
  imgSize: 224,
  patchSize: 16,
  inChans: 3,
  mlpRatio: 4,
  qkvBias: true,
  dropPathRate: 0,
  seed: 0,
} as const;

/** LayerNorm epsilon of the DINO ViTs (`partial(nn.LayerNorm, eps=1e-6)`). */
export const LAYER_NORM_EPS = 1e-6;

/** The standard parts, what `resolveVitConfig` fills in for absent factories. */
const DEFAULT_PARTS = {
  attnLayer: ((o) => new Attention(o)) as AttentionFactory,
  mlpLayer: ((o) => new Mlp(o)) as MlpFactory,
  normLayer: ((dim) => new LayerNorm(dim, { eps: LAYER_NORM_EPS })) as NormLayerFactory,
  blockFn: ((o) => new Block(o)) as BlockFactory,
};

/** A validated configuration with every default filled in. */
export interface ResolvedVitConfig {
  imgSize: [number, number];
  patchSize: number;
  inChans: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  dropPathRate: number;
  seed: number;
  attnLayer: AttentionFactory;
  mlpLayer: MlpFactory;
  normLayer: NormLayerFactory;
  blockFn: BlockFactory;
  /** Patch grid the position embedding is built for: [rows, cols]. */
  grid: [number, number];
  mlpHiddenDim: number;
  headDim: number;
}

/** Fills in defaults and checks every value, throwing a ConfigError that names the parameter. */
export function resolveVitConfig(cfg: VitConfig): ResolvedVitConfig {
  if (cfg === null || typeof cfg !== 'object') throw new ConfigError('config', cfg, 'must be a VitConfig object');
  const patchSize = cfg.patchSize ?? VIT_DEFAULTS.patchSize;
  const inChans = cfg.inChans ?? VIT_DEFAULTS.inChans;
  const mlpRatio = cfg.mlpRatio ?? VIT_DEFAULTS.mlpRatio;
  const qkvBias = cfg.qkvBias ?? VIT_DEFAULTS.qkvBias;
  const dropPathRate = cfg.dropPathRate ?? VIT_DEFAULTS.dropPathRate;
  const seed = cfg.seed ?? VIT_DEFAULTS.seed;
  const rawSize = cfg.imgSize ?? VIT_DEFAULTS.imgSize;
  const imgSize: [number, number] = Array.isArray(rawSize)
    ? [rawSize[0], rawSize[1]]
    : [rawSize as number, rawSize as number];
  if (Array.isArray(rawSize) && rawSize.length !== 2) {
    throw new ConfigError('imgSize', rawSize, 'must be a positive integer or [height, width]');
  }

  checkInt('patchSize', patchSize, 1);
  checkInt('imgSize', imgSize[0], 1);
  checkInt('imgSize', imgSize[1], 1);
  for (const s of imgSize) {
    if (s % patchSize !== 0) {
      throw new ConfigError('imgSize', rawSize, `must be a multiple of patchSize (${patchSize})`);
    }
  }
  checkInt('inChans', inChans, 1);
  checkInt('embedDim', cfg.embedDim, 1);
  checkInt('depth', cfg.depth, 1);
  checkInt('numHeads', cfg.numHeads, 1);
  if (cfg.embedDim % cfg.numHeads !== 0) {
    throw new ConfigError('numHeads', cfg.numHeads, `must divide embedDim (${cfg.embedDim})`);
  }
  checkNumber('mlpRatio', mlpRatio, { min: 0, minExclusive: true });
  const mlpHiddenDim = Math.floor(cfg.embedDim * mlpRatio);
  if (mlpHiddenDim < 1) throw new ConfigError('mlpRatio', mlpRatio, 'must give embedDim * mlpRatio >= 1');
  if (typeof qkvBias !== 'boolean') throw new ConfigError('qkvBias', qkvBias, 'must be true or false');
  checkNumber('dropPathRate', dropPathRate, { min: 0, max: 1, maxExclusive: true });
  checkInt('seed', seed, 0, 0xffffffff);
  const parts = { ...DEFAULT_PARTS };
  for (const key of Object.keys(DEFAULT_PARTS) as (keyof typeof DEFAULT_PARTS)[]) {
    const given = cfg[key];
    if (given === undefined) continue;
    if (typeof given !== 'function') throw new ConfigError(key, given, 'must be a function (options) => Module');
    (parts as Record<string, unknown>)[key] = given;
  }

  return {
    imgSize,
    patchSize,
    inChans,
    embedDim: cfg.embedDim,
    depth: cfg.depth,
    numHeads: cfg.numHeads,
    mlpRatio,
    qkvBias,
    dropPathRate,
    seed,
    ...parts,
    grid: [imgSize[0] / patchSize, imgSize[1] / patchSize],
    mlpHiddenDim,
    headDim: cfg.embedDim / cfg.numHeads,
  };
}

/**
 * Stochastic depth per block, rising linearly from 0 (first block) to `rate` (last block), as
 * the reference's `torch.linspace(0, drop_path_rate, depth)`.
 */
export function dropPathSchedule(rate: number, depth: number): number[] {
  if (depth === 1) return [0];
  return Array.from({ length: depth }, (_, i) => (rate * i) / (depth - 1));
}
