/**
 * A run's settings as the DinoTrainer's configuration: shared by `train` (the run itself) and by
 * `eval` / `export` / `embed` (which rebuild the run's networks from its checkpoint). The groups
 * pass through as they are; only the backbone's options depend on the data.
 */
import { RESNET_PRESETS, VIT_PRESETS } from '@dino-ts/backbones';
import type { DinoTrainerConfig } from '@dino-ts/dino';
import { nest, type NestedConfig, type TrainConfig } from './config';

/** The ResNets of @dino-ts/backbones (torchvision's depths, or free `resnet` layouts). */
export function isResNet(arch: string): boolean {
  return arch === 'resnet' || arch in RESNET_PRESETS;
}

/** The options `createBackbone(arch, options)` gets for this run's data. */
export function backboneOptions(n: Pick<NestedConfig, 'backbone' | 'backboneSize' | 'multicrop'>, d: { channels: number; imageSize: number }): Record<string, unknown> {
  const { arch } = n.backbone;
  const size = n.backboneSize;
  const globalSize = n.multicrop.globalCropsSize ?? d.imageSize;
  if (isResNet(arch)) {
    // Images under 96 px take the CIFAR-style 3x3 stride-1 stem: torchvision's 7x7/2 stem and
    // max-pool would leave a 1x1 feature map at 32 px.
    return { inChans: d.channels, width: size.resnetWidth, smallInput: globalSize < 96, imgSize: globalSize };
  }
  const vit: Record<string, unknown> = { imgSize: globalSize, patchSize: size.patchSize, inChans: d.channels };
  if (arch === 'vit') Object.assign(vit, { embedDim: size.embedDim, depth: size.depth, numHeads: size.numHeads });
  return vit;
}

/** The DinoTrainer configuration for a run: its groups, passed through. */
export function trainerConfig(c: TrainConfig, d: { channels: number; imageSize: number }, itersPerEpoch: number): DinoTrainerConfig {
  const n = nest(c);
  return {
    ...n.run,
    itersPerEpoch,
    backbone: { ...n.backbone, options: backboneOptions(n, d) },
    head: n.head,
    loss: n.loss,
    optim: n.optim,
    multicrop: n.multicrop,
  };
}

/**
 * Metadata an exported backbone carries so a reader rebuilds it without guessing: the arch, the
 * patch size, and the heads (not in the tensors' shapes) as `config` JSON, the form
 * @dino-ts/weights reads.
 */
export function backboneMetadata(c: TrainConfig): Record<string, string> {
  const preset = VIT_PRESETS[c.arch as keyof typeof VIT_PRESETS];
  const numHeads = preset ? preset.numHeads : c.arch === 'vit' ? c.numHeads : undefined;
  return {
    arch: c.arch,
    patch_size: String(c.patchSize),
    config: JSON.stringify({ backbone: { arch: c.arch, options: { patchSize: c.patchSize, ...(numHeads ? { numHeads } : {}) } } }),
  };
}
