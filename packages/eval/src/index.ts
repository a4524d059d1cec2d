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
 *
 * Only what a user calls or names is exported here; the modules' helpers stay inside.
 */

// Every default of the protocols, the reference's values, in one object.
export { DEFAULTS } from './defaults';

// Images in: the ImageSource interface and adapters from a data set or host arrays.
export {
  fromIndexedDataset,
  fromArrays,
  type ImageSource,
  type ImageBatch,
  type HostImages,
  type HostBatchLike,
  type IndexedDatasetLike,
  type IndexedSourceOptions,
} from './image-source';

// Patch features' principal components, and the first three as an RGB picture.
export {
  principalComponents,
  pcaRgb,
  patchFeaturePca,
  PCA_DEFAULTS,
  type PcaOptions,
  type PcaResult,
  type PcaRgbOptions,
} from './pca';

// Any picture in: the reference's evaluation transform on RGBA / RGB pixels (ImageData, decoders).
export {
  evalTransform,
  EVAL_TRANSFORM_DEFAULTS,
  RESIZE_MODES,
  type ResizeMode,
  type PixelImage,
  type EvalTransformOptions,
} from './eval-transform';

// Frozen features: a batch's feature vector (eval_knn / eval_linear layout) and whole-set extraction.
export { backboneFeatures, featureDim, type FeatureMatrix, type FeatureOptions } from './features';
export { extractFeatures, type ExtractOptions, type ExtractedFeatures } from './extract-features';

// Weighted k-NN (eval_knn.py).
export {
  knnClassifier,
  evaluateKnn,
  type KnnOptions,
  type EvaluateKnnOptions,
  type KnnReport,
  type KnnResult,
  type KnnNeighbors,
} from './knn';

// The linear probe (eval_linear.py): the classifier, its training on cached features, the whole
// protocol on a backbone, and the probe's random-resized-crop + flip.
export { LinearClassifier, type LinearClassifierOptions } from './linear-classifier';
export {
  trainLinearClassifier,
  evaluateLinearClassifier,
  cosineLr,
  type SgdOptions,
  type LinearTrainOptions,
  type LinearEpochStats,
  type LinearProbeResult,
  type LinearScore,
} from './linear-train';
export { linearProbe, type LinearProbeOptions, type AugmentFn } from './linear-probe';
export { randomResizedCropFlip, type RandomResizedCropOptions } from './probe-augment';

// Self-attention maps and masks (visualize_attention.py), and the masks' Jaccard quality.
export { attentionMaps, attentionMask, upsampleNearest, hasSelfAttention, type AttentionMaps } from './attention';
export {
  jaccard,
  evaluateAttentionSegmentation,
  type AttentionSegmentationOptions,
  type AttentionSegmentationResult,
} from './attention-segmentation';

// Video object segmentation by label propagation (eval_video_segmentation.py) and the DAVIS J&F.
export {
  labelPropagation,
  segmentVideo,
  type PropagationOptions,
  type SegmentVideoOptions,
  type VideoFrames,
} from './video-segmentation';
export {
  davisJ,
  davisF,
  evaluateDavisSequence,
  davisSummary,
  type Map2D,
  type DavisStatistics,
  type DavisObjectResult,
  type DavisSequenceResult,
  type DavisSequenceOptions,
  type DavisSummary,
} from './davis';

// Pictures as host arrays: RGB for reports, RGBA (ImageData-shaped) for a canvas.
export {
  toRgbImage,
  heatmapImage,
  maskOverlay,
  enlarge,
  imageGrid,
  toImageData,
  maskLayer,
  type RgbImage,
  type RgbaImage,
  type ClampedBytes,
  type ToRgbOptions,
  type HeatmapOptions,
  type OverlayOptions,
  type GridOptions,
} from './render';
export { colormap, type ColormapName } from './colormap';
export {
  visualizeAttention,
  attentionGallery,
  attentionImageData,
  type AttentionVisualization,
  type VisualizeOptions,
  type AttentionImageData,
} from './visualize';

// Results as table rows.
export {
  knnTable,
  linearTable,
  jaccardTable,
  davisTable,
  davisObjectTable,
  type KnnRow,
  type LinearRow,
  type JaccardRow,
  type DavisRow,
} from './tables';
