/**
 * The embedded shapes data set as the demo teacher saw it. The demo model's file names its
 * shapes (`shapes` metadata, written by scripts/make-demo-model.mjs); other models get the
 * shapes preset's look.
 */
import { SHAPE_CLASS_NAMES, ShapesDataset, type TextureKind } from '@dino-ts/data';
import type { ShapesSpec } from './protocol';

/** `dino train --preset shapes`: 6 classes, mono palette, half clutter, solid or gradient fills; seed 0. */
export const DEFAULT_SHAPES: ShapesSpec = {
  classes: 6,
  clutter: 0.5,
  textures: ['solid', 'gradient'],
  maxRotation: 180,
  placement: 1,
  palette: 'mono',
  trainSeed: 1,
  testSeed: 2,
};

/** Reads the `shapes` metadata of a demo model file, or null when it has none or it is malformed. */
export function shapesFromMetadata(value: unknown): ShapesSpec | null {
  if (typeof value !== 'string') return null;
  try {
    const s = JSON.parse(value) as Partial<ShapesSpec>;
    const spec = { ...DEFAULT_SHAPES, ...s };
    if (!Number.isInteger(spec.classes) || spec.classes < 2 || spec.classes > SHAPE_CLASS_NAMES.length) return null;
    return spec;
  } catch {
    return null;
  }
}

/** The shapes of `split` at `size` px: the bank (training split) or the held-out split. */
export function shapesDataset(spec: ShapesSpec, size: number, split: 'train' | 'test', length: number): ShapesDataset {
  return new ShapesDataset({
    length,
    size,
    seed: split === 'train' ? spec.trainSeed : spec.testSeed,
    classes: SHAPE_CLASS_NAMES.slice(0, spec.classes),
    clutter: spec.clutter,
    maxRotation: spec.maxRotation,
    placement: spec.placement,
    palette: spec.palette,
    ...(spec.textures ? { textures: spec.textures as TextureKind[] } : {}),
  });
}
