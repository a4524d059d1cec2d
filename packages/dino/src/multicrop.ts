import * as tf from '@tensorflow/tfjs-core';
import { Module, ShapeError, asModule, type Rng } from '@dino-ts/core';
import type { Backbone } from '@dino-ts/backbones';
import type { DinoHead } from '@dino-ts/head';

/** A run of consecutive crops of one resolution: crops[start..end). */
export interface CropGroup {
  start: number;
  end: number;
}

/**
 * Groups consecutive crops of equal height and width (reference MultiCropWrapper's
 * unique_consecutive over the resolutions), e.g. [224, 224, 96 x 8] -> [0, 2), [2, 10).
 */
export function groupCropsByResolution(crops: readonly tf.Tensor4D[]): CropGroup[] {
  const groups: CropGroup[] = [];
  crops.forEach((c, i) => {
    const last = groups[groups.length - 1];
    if (last && sameResolution(crops[last.start], c)) last.end = i + 1;
    else groups.push({ start: i, end: i + 1 });
  });
  return groups;
}

function sameResolution(a: tf.Tensor4D, b: tf.Tensor4D): boolean {
  return a.shape[1] === b.shape[1] && a.shape[2] === b.shape[2];
}

export interface MultiCropOptions {
  /**
   * Training mode: drop path in the backbone, batch statistics in a BatchNorm head. Default: the
   * network's mode (`train()`), which is eval (false) until set.
   */
  training?: boolean;
  /** Randomness of drop path. */
  rng?: Rng;
  /**
   * Training mode of the head alone (defaults to `training`, then the network's mode). The
   * reference never switches its teacher to eval mode, so a BatchNorm head normalises the
   * teacher's batch with batch statistics while its backbone has no drop path.
   */
  headTraining?: boolean;
  /**
   * Forward only: run the backbone on at most this many images at a time, each slice in its own
   * memory scope (0 or absent: one pass per resolution group). Inside a gradient computation
   * every activation is kept anyway, so slice the batch around the gradient instead.
   */
  maxImagesPerPass?: number;
}

/**
 * Backbone f followed by head h, the network of both student and teacher (reference
 * utils.MultiCropWrapper): the crops of each resolution go through the backbone in one batch, the
 * features are concatenated in crop order, and the head runs once on all of them.
 *
 * A Module with children `backbone` and `head`, so parameters and buffers are named
 * `backbone.<name>` and `head.<name>` as the reference's state dict, and `train(mode)` reaches
 * both. A backbone that is not a Module (a third party's, written against the `Backbone`
 * interface) is wrapped: its `params()` and `buffers()` are read through under `backbone.`.
 *
 * @example
 * ```ts
 * const student = new MultiCropNetwork(createBackbone('vit_small'), new DinoHead({ inDim: 384, outDim: 65536 }));
 * const out = student.apply([g1, g2, ...locals], { training: true });   // [10 * B, 65536]
 * ```
 */
export class MultiCropNetwork extends Module {
  constructor(
    readonly backbone: Backbone,
    readonly head: DinoHead,
  ) {
    super();
    if (head.inDim !== backbone.embedDim) {
      throw new ShapeError(`MultiCropNetwork: head inDim ${head.inDim} differs from the backbone's embedDim ${backbone.embedDim}`);
    }
    this.registerModule('backbone', asModule(backbone));
    this.registerModule('head', asModule(head));
  }

  // params() and buffers() (inherited): `backbone.*` then `head.*`. The buffers are BatchNorm
  // running statistics of a convnet backbone and of a BatchNorm head, so checkpoints keep them
  // and the teacher starts from the student's. dispose() frees both parts.

  /** Backbone features of all crops, [sum of batches, embedDim], one backbone pass per resolution. */
  features(crops: readonly tf.Tensor4D[], opts: MultiCropOptions = {}): tf.Tensor2D {
    if (crops.length === 0) throw new ShapeError('MultiCropNetwork: no crops given');
    const fwd = { training: opts.training ?? this.training, rng: opts.rng };
    const maxImages = opts.maxImagesPerPass ?? 0;
    return tf.tidy(() => {
      const feats = groupCropsByResolution(crops).map(({ start, end }) => {
        const batch = end - start === 1 ? crops[start] : tf.concat(crops.slice(start, end), 0);
        const n = batch.shape[0];
        if (!(maxImages > 0) || n <= maxImages) return this.backbone.forward(batch, fwd);
        const parts: tf.Tensor2D[] = [];
        for (let r = 0; r < n; r += maxImages) {
          const size = Math.min(maxImages, n - r);
          parts.push(tf.tidy(() => this.backbone.forward(tf.slice(batch, [r, 0, 0, 0], [size, -1, -1, -1]), fwd)));
        }
        return tf.concat(parts, 0);
      });
      return feats.length === 1 ? feats[0] : tf.concat(feats, 0);
    });
  }

  /** Head logits of all crops in crop order, [sum of batches, K]. */
  apply(crops: readonly tf.Tensor4D[], opts: MultiCropOptions = {}): tf.Tensor2D {
    return tf.tidy(() => this.head.apply(this.features(crops, opts), { training: opts.headTraining ?? opts.training ?? this.training }));
  }
}
