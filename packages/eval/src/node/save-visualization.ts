/**
 * The attention pictures as PNG files (sharp writes them): Node only, exported from
 * '@dino-ts/eval/node'. Computing the pictures (visualize.ts) stays in the main entry.
 */
import { writePng } from './png';
import type { RgbImage } from '../render';
import type { AttentionVisualization } from '../visualize';

/**
 * Writes img.png, attn-head<j>.png, attn-mean.png, mask_th<t>_head<j>.png and mask_th<t>_mean.png
 * (the reference's file names) into `dir`, which must exist.
 */
export async function saveAttentionVisualization(dir: string, vis: AttentionVisualization): Promise<string[]> {
  const files: [string, RgbImage][] = [
    ['img.png', vis.image],
    ...vis.heads.map((img, j): [string, RgbImage] => [`attn-head${j}.png`, img]),
    ['attn-mean.png', vis.mean],
    ...vis.headMasks.map((img, j): [string, RgbImage] => [`mask_th${vis.threshold}_head${j}.png`, img]),
    [`mask_th${vis.threshold}_mean.png`, vis.meanMask],
  ];
  const path = (name: string) => `${dir.replace(/[\\/]+$/, '')}/${name}`;
  for (const [name, img] of files) await writePng(path(name), img);
  return files.map(([name]) => path(name));
}
