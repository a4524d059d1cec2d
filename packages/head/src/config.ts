import { ConfigError, checkInt, withDefaults } from '@dino-ts/core';

/** Configuration of the DINO projection head (reference `DINOHead` in vision_transformer.py). */
export interface DinoHeadConfig {
  /** Input size: the backbone's embedding dimension. */
  inDim: number;
  /** K, the number of prototypes (output logits). */
  outDim: number;
  /** BatchNorm1d after each hidden Linear. Default false. */
  useBn?: boolean;
  /** Fix the weight-norm gain of the last layer at 1 (not trainable). Default true. */
  normLastLayer?: boolean;
  /** Number of Linear layers of the MLP before the L2 normalisation. Default 3. */
  nlayers?: number;
  /** Width of the hidden layers. Default 2048. */
  hiddenDim?: number;
  /** Width of the bottleneck fed to the weight-normalised last layer. Default 256. */
  bottleneckDim?: number;
  /** Seed of the initialisation (ignored when an `rng` is passed to the constructor). Default 0. */
  seed?: number;
}

/** The reference defaults (vision_transformer.py DINOHead, main_dino.py arguments). */
export const DINO_HEAD_DEFAULTS = {
  useBn: false,
  normLastLayer: true,
  nlayers: 3,
  hiddenDim: 2048,
  bottleneckDim: 256,
  seed: 0,
} as const;

export type ResolvedDinoHeadConfig = Required<DinoHeadConfig>;

/** Fills the defaults and validates every field, naming the offending parameter. */
export function resolveHeadConfig(config: DinoHeadConfig): ResolvedDinoHeadConfig {
  if (config == null || typeof config !== 'object') {
    throw new ConfigError('config', config, 'must be an object with at least inDim and outDim');
  }
  const c: ResolvedDinoHeadConfig = withDefaults(DINO_HEAD_DEFAULTS, config) as ResolvedDinoHeadConfig;
  checkInt('inDim', c.inDim, 1);
  checkInt('outDim', c.outDim, 1);
  checkInt('nlayers', c.nlayers, 1);
  checkInt('hiddenDim', c.hiddenDim, 1);
  checkInt('bottleneckDim', c.bottleneckDim, 1);
  checkInt('seed', c.seed, 0);
  if (typeof c.useBn !== 'boolean') throw new ConfigError('useBn', c.useBn, 'must be a boolean');
  if (typeof c.normLastLayer !== 'boolean') throw new ConfigError('normLastLayer', c.normLastLayer, 'must be a boolean');
  return c;
}

