/**
 * Backbones by name, so configs and command lines can say `vit_small` with `patchSize: 8` (the
 * reference's `vits.__dict__[args.arch](patch_size=...)`), and users can add their own.
 */
import { ConfigError } from '@dino-ts/core';
import type { Backbone } from './types';
import { VisionTransformer } from './vit';
import type { VitConfig } from './vit-config';
import { ResNet, type ResNetConfig } from './resnet';

/** Builds a backbone from options; `name` is the registry name it was created under. */
export type BackboneFactory = (opts: Record<string, unknown>, name: string) => Backbone;

/** Options of the ViT presets: everything but the sizes the preset fixes. */
export type VitPresetOptions = Omit<VitConfig, 'embedDim' | 'depth' | 'numHeads'>;

/** The reference's ViT sizes (depth 12, MLP ratio 4, qkv bias, LayerNorm eps 1e-6). */
export const VIT_PRESETS = {
  vit_tiny: { embedDim: 192, depth: 12, numHeads: 3 },
  vit_small: { embedDim: 384, depth: 12, numHeads: 6 },
  vit_base: { embedDim: 768, depth: 12, numHeads: 12 },
} as const;

/** The backbones this package defines, one set per loaded copy (its own classes). */
const builtins = new Map<string, BackboneFactory>();

/**
 * Backbones users add. They live on `globalThis`, under a registry-wide symbol, so that when an
 * application loads both builds of this package (ESM code beside a CommonJS dependency), a
 * backbone registered through one is found through the other.
 */
const USER_REGISTRY = Symbol.for('@dino-ts/backbones:user-registry');
const registered: Map<string, BackboneFactory> = ((globalThis as Record<symbol, unknown>)[USER_REGISTRY] ??= new Map()) as Map<
  string,
  BackboneFactory
>;

function lookup(name: string): BackboneFactory | undefined {
  return registered.get(name) ?? builtins.get(name);
}

function vitPreset(preset: keyof typeof VIT_PRESETS): BackboneFactory {
  return (opts, name) => {
    for (const fixed of ['embedDim', 'depth', 'numHeads'] as const) {
      if (opts[fixed] !== undefined && opts[fixed] !== VIT_PRESETS[preset][fixed]) {
        throw new ConfigError(
          fixed,
          opts[fixed],
          `is fixed to ${VIT_PRESETS[preset][fixed]} by "${preset}"; use createBackbone('vit', {...}) for free sizes`,
        );
      }
    }
    return new VisionTransformer({ ...(opts as VitPresetOptions), ...VIT_PRESETS[preset] }, name);
  };
}

/**
 * Adds a backbone under `name`. Re-registering a name throws unless `override` is set.
 *
 * @example
 * registerBackbone('vit_micro', (opts, name) =>
 *   new VisionTransformer({ embedDim: 96, depth: 6, numHeads: 3, ...opts }, name));
 */
export function registerBackbone(name: string, factory: BackboneFactory, opts: { override?: boolean } = {}): void {
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError('name', name, 'must be a non-empty string');
  if (typeof factory !== 'function') throw new ConfigError('factory', factory, 'must be a function');
  if (lookup(name) && !opts.override) {
    throw new ConfigError('name', name, 'is already registered (pass { override: true } to replace it)');
  }
  registered.set(name, factory);
}

/** The registered names, sorted. */
export function listBackbones(): string[] {
  return [...new Set([...builtins.keys(), ...registered.keys()])].sort();
}

/**
 * Creates a registered backbone.
 *
 * @example
 * const vit = createBackbone('vit_small', { patchSize: 8 });              // ViT-S/8, 224 px
 * const tiny = createBackbone('vit', { imgSize: 28, patchSize: 4, inChans: 1,
 *                                      embedDim: 192, depth: 6, numHeads: 3 });
 */
export function createBackbone(name: 'vit_tiny' | 'vit_small' | 'vit_base', opts?: VitPresetOptions): VisionTransformer;
export function createBackbone(name: 'vit', opts: VitConfig): VisionTransformer;
export function createBackbone(name: 'resnet18' | 'resnet34', opts?: Omit<ResNetConfig, 'layers'>): ResNet;
export function createBackbone(name: 'resnet', opts?: ResNetConfig): ResNet;
export function createBackbone(name: string, opts?: object): Backbone;
export function createBackbone(name: string, opts: object = {}): Backbone {
  const factory = lookup(name);
  if (!factory) {
    throw new ConfigError('backbone', name, `must be one of ${listBackbones().map((n) => JSON.stringify(n)).join(', ')}`);
  }
  return factory(opts as Record<string, unknown>, name);
}

for (const preset of Object.keys(VIT_PRESETS) as (keyof typeof VIT_PRESETS)[]) {
  builtins.set(preset, vitPreset(preset));
}
builtins.set('vit', (opts, name) => new VisionTransformer(opts as unknown as VitConfig, name));

/** Basic-block ResNets by depth (torchvision's layouts). */
export const RESNET_PRESETS = {
  resnet18: [2, 2, 2, 2],
  resnet34: [3, 4, 6, 3],
} as const;

for (const [preset, layers] of Object.entries(RESNET_PRESETS)) {
  builtins.set(preset, (opts, name) => {
    if (opts.layers !== undefined) {
      throw new ConfigError('layers', opts.layers, `is fixed by "${preset}"; use createBackbone('resnet', { layers }) for others`);
    }
    return new ResNet({ ...(opts as ResNetConfig), layers: [...layers] as [number, number, number, number] }, name);
  });
}
builtins.set('resnet', (opts, name) => new ResNet(opts as ResNetConfig, name));
