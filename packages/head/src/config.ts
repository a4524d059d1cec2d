import { ConfigError, checkInt, defaultsOf, resolveSettings, setting, type SettingsInput, type SettingsOf } from '@dino-ts/core';

/**
 * The head's settings (reference `DINOHead` in vision_transformer.py and main_dino.py's
 * arguments), each declared once: default, range, help, and the reference's flag where the
 * trainer's command line names it differently.
 */
export const DINO_HEAD_SETTINGS = {
  outDim: setting.int(65536, 'K, the dimension of the DINO head output', { min: 1 }),
  useBn: setting.boolean(false, 'BatchNorm in the head MLP', { flag: 'useBnInHead' }),
  normLastLayer: setting.boolean(true, 'weight-normalise the last layer with its gain fixed to 1'),
  nlayers: setting.int(3, 'number of Linear layers of the head MLP before the L2 normalisation', { min: 1 }),
  hiddenDim: setting.int(2048, 'hidden width of the head MLP', { min: 1 }),
  bottleneckDim: setting.int(256, 'bottleneck width of the head before the last layer', { min: 1 }),
  seed: setting.int(0, 'seed of the initialisation (ignored when an rng is passed)', { min: 0 }),
} as const;

/** The reference defaults, read off the settings. */
export const DINO_HEAD_DEFAULTS = defaultsOf(DINO_HEAD_SETTINGS);

/** Configuration of the DINO projection head: its input size and any of its settings. */
export interface DinoHeadConfig extends SettingsInput<typeof DINO_HEAD_SETTINGS> {
  /** Input size: the backbone's embedding dimension. */
  inDim: number;
}

export type ResolvedDinoHeadConfig = SettingsOf<typeof DINO_HEAD_SETTINGS> & { inDim: number };

/** Fills the defaults and validates every field, naming the offending parameter. */
export function resolveHeadConfig(config: DinoHeadConfig): ResolvedDinoHeadConfig {
  if (config == null || typeof config !== 'object') {
    throw new ConfigError('config', config, 'must be an object with at least inDim');
  }
  const { inDim, ...settings } = config;
  checkInt('inDim', inDim, 1);
  return { ...resolveSettings(DINO_HEAD_SETTINGS, settings), inDim };
}
