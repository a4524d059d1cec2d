/**
 * The MLP of a ViT block (reference / timm `Mlp`): `fc1` (D -> hidden), exact GELU, `fc2`
 * (hidden -> D). Replaceable through `VitConfig.mlpLayer` (timm's `mlp_layer`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, gelu, type Rng } from '@dino-ts/core';

/** What the ViT passes an MLP factory. */
export interface MlpOptions {
  /** Input size (the token dimension D). */
  inFeatures: number;
  /** Hidden size: floor(D * mlpRatio). */
  hiddenFeatures: number;
  /** Output size. Default inFeatures (a block's MLP maps D back to D). */
  outFeatures?: number;
  /** The model's initialisation generator; draw from it in parameter order. */
  rng: Rng;
}

/** The contract of a block's MLP: a Module (parameters under the block's `mlp.`), [B, N, D] -> [B, N, D]. */
export interface MlpLayer extends Module {
  forward(x: tf.Tensor3D): tf.Tensor3D;
}

/** Builds the MLP of one block (timm's `mlp_layer`). */
export type MlpFactory = (opts: MlpOptions) => MlpLayer;

/** The standard MLP: `fc1.weight` [hidden, D], `fc1.bias`, `fc2.weight` [D, hidden], `fc2.bias`. */
export class Mlp extends Module implements MlpLayer {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(opts: MlpOptions) {
    super();
    const { inFeatures, hiddenFeatures, outFeatures = inFeatures, rng } = opts;
    this.fc1 = this.registerModule('fc1', new Linear(inFeatures, hiddenFeatures, { rng }));
    this.fc2 = this.registerModule('fc2', new Linear(hiddenFeatures, outFeatures, { rng }));
  }

  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => this.fc2.forward(gelu(this.fc1.forward(x))));
  }
}
