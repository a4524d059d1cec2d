/** The fused kernels' names; the same strings as @dino-ts/core's FUSED_KERNELS (a test checks). */
export const FUSED_KERNEL_NAMES = {
  adamw: 'DinoAdamW',
  ema: 'DinoEma',
  gelu: 'DinoGelu',
  geluGrad: 'DinoGeluGrad',
  layerNorm: 'DinoLayerNorm',
  layerNormGrad: 'DinoLayerNormGrad',
  linear: 'DinoLinear',
  attention: 'DinoAttention',
} as const;
