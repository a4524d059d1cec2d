/**
 * Every default of the evaluation protocols, written once. Values are the reference's
 * (facebookresearch/dino: eval_knn.py, eval_linear.py, visualize_attention.py,
 * eval_video_segmentation.py; DAVIS-2017 toolkit for the boundary tolerance).
 */
import { RESIZED_CROP_RATIO, RESIZED_CROP_SCALE } from '@dino-ts/augment';

export const DEFAULTS = {
  extract: {
    /** Images per backbone forward pass. */
    batchSize: 64,
    /** CLS of the last block only (eval_knn uses `model(x)`, the final-normalised CLS). */
    nLastBlocks: 1,
    avgpoolPatchTokens: false,
  },
  knn: {
    /** eval_knn.py `--nb_knn`. */
    k: [10, 20, 100, 200] as readonly number[],
    /** eval_knn.py `--temperature`: neighbour weights exp(sim / T). */
    T: 0.07,
    /** Test rows per similarity block: 256 x 60000 floats is about 60 MB. */
    chunkSize: 256,
    /** eval_knn.py normalises the extracted features (extract_feature_pipeline). */
    normalize: true,
  },
  linear: {
    /** eval_linear.py `--n_last_blocks` (4 for ViT-S; the paper uses 1 + avgpool for ViT-B). */
    nLastBlocks: 4,
    avgpoolPatchTokens: false,
    epochs: 100,
    /** eval_linear.py `--batch_size_per_gpu` (one worker). */
    batchSize: 128,
    /** eval_linear.py `--lr`, for a batch of 256 (linear scaling rule). */
    lr: 0.001,
    momentum: 0.9,
    weightDecay: 0,
    /** LinearClassifier: weight ~ N(0, 0.01), bias 0. */
    initStd: 0.01,
    /** eval_linear.py `--val_freq`. */
    evalEvery: 1,
    seed: 0,
    /** torchvision RandomResizedCrop defaults (the reference train transform), augment's constants. */
    cropScale: RESIZED_CROP_SCALE,
    cropRatio: RESIZED_CROP_RATIO,
  },
  attention: {
    /** visualize_attention.py `--threshold`: keep the patches holding 60% of the mass. */
    threshold: 0.6,
    /** apply_mask alpha of visualize_attention.py. */
    overlayAlpha: 0.5,
  },
  video: {
    /** eval_video_segmentation.py `--n_last_frames`. */
    nLastFrames: 7,
    /** `--size_mask_neighborhood`. */
    sizeMaskNeighborhood: 12,
    /** `--topk`. */
    topk: 5,
    /** The affinity is exp(cosine / 0.1). */
    temperature: 0.1,
  },
  davis: {
    /** davis2017-evaluation f_measure: tolerance 0.008 x image diagonal. */
    boundTh: 0.008,
  },
} as const;
