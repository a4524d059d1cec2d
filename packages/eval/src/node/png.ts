/**
 * PNG output through sharp: Node only, exported from '@dino-ts/eval/node' (a bundler would try to
 * follow even the dynamic import('sharp') from the main entry). sharp is an optional peer
 * dependency, loaded on first use so '@dino-ts/eval/node' imports without it. A browser draws the
 * RGBA pictures of render.ts (`toImageData`) on a canvas instead.
 */
import type { RgbImage } from '../render';
import { ConfigError } from '@dino-ts/core';

type SharpFn = (input: Uint8Array, opts: { raw: { width: number; height: number; channels: 3 } }) => {
  png(): { toBuffer(): Promise<Uint8Array>; toFile(path: string): Promise<unknown> };
};

let sharpPromise: Promise<SharpFn> | null = null;
async function loadSharp(): Promise<SharpFn> {
  sharpPromise ??= import('sharp').then((m) => ((m as { default?: unknown }).default ?? m) as SharpFn).catch((e) => {
    sharpPromise = null;
    throw new ConfigError('sharp', 'not installed', `is needed for PNG output: npm install sharp (${(e as Error).message})`);
  });
  return sharpPromise;
}

/** The image as PNG bytes. */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const sharp = await loadSharp();
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}

/**
 * Writes the image as a PNG file.
 *
 * @example
 * await writePng('attn.png', heatmapImage(map, 14, 14));
 */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  const sharp = await loadSharp();
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(path);
}
