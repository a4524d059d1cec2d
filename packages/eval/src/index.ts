/**
 * @dino-ts/eval: the evaluation protocols of DINO (Caron et al. 2021) for any `Backbone`, exact
 * against the reference implementation (facebookresearch/dino) and the DAVIS-2017 toolkit:
 * weighted k-NN, the linear probe, self-attention maps and masks with their Jaccard quality, and
 * video object segmentation by label propagation with the J&F measures.
 *
 * @example
 * import { evaluateKnn, fromIndexedDataset } from '@dino-ts/eval';
 * const report = await evaluateKnn(teacher, fromIndexedDataset(train), fromIndexedDataset(test), { k: [20] });
 * console.log(report.results[0].top1);
 *
 * This entry has no Node built-ins and no native modules, so it bundles for a browser; attention
 * pictures come out as RGB / RGBA arrays (`toImageData`, `maskLayer`, `attentionImageData`) for
 * a canvas. PNG encoding and files (sharp) are in '@dino-ts/eval/node'.
 */
export { DEFAULTS } from './defaults';
export * from './source';
export * from './features';
export * from './extract';
export * from './knn';
export * from './linear-classifier';
export * from './linear-train';
export * from './linear-probe';
export * from './probe-augment';
export * from './attention';
export * from './segmentation';
export * from './colormap';
export * from './render';
export * from './visualize';
export * from './davis';
export * from './resize';
export * from './video';
export * from './tables';
