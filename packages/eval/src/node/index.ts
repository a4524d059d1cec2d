/**
 * @dino-ts/eval/node: PNG encoding and files, through sharp (a native module, an optional peer
 * dependency loaded on first use) and the file system, kept out of the main entry so that one
 * bundles for a browser. Only these names live here; everything else comes from '@dino-ts/eval'.
 *
 * @example
 * import { visualizeAttention, heatmapImage } from '@dino-ts/eval';
 * import { saveAttentionVisualization, writePng } from '@dino-ts/eval/node';
 * const [vis] = await visualizeAttention(vit, x);
 * await saveAttentionVisualization('out', vis);
 */
export { encodePng, writePng } from './png';
export { saveAttentionVisualization } from './save-visualization';
