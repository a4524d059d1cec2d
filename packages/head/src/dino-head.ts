import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Linear, Module, Rng, ShapeError, l2Normalize } from '@dino-ts/core';
import { resolveHeadConfig, type DinoHeadConfig, type ResolvedDinoHeadConfig } from './config';
import { gelu } from './gelu';
import { WeightNormLinear } from './weight-norm';

export interface HeadApplyOptions {
  /**
   * Training mode: BatchNorm (if any) normalises with batch statistics and updates its running
   * averages, as a PyTorch module in `train()` mode. Without BatchNorm it changes nothing.
   * Default: the head's mode, which is eval (false) unless `train()` was called.
   */
  training?: boolean;
}

/** One Linear layer of the MLP, with its optional BatchNorm. */
interface MlpLayer {
  linear: Linear;
  bn?: BatchNorm;
  /** GELU after (every layer but the last). */
  act: boolean;
}

/**
 * The DINO projection head h (Caron et al. 2021, Sec. 3.1; reference `DINOHead`):
 * Linear(in -> hidden) [BN] GELU, (nlayers - 2) x (Linear(hidden -> hidden) [BN] GELU),
 * Linear(hidden -> bottleneck), L2 normalisation, then a weight-normalised Linear(bottleneck -> K)
 * without bias. With `normLastLayer` the weight-norm gain is fixed at 1, which the paper found
 * stabilises training.
 *
 * Parameters are named as the reference state dict (`mlp.0.weight`, ..., `last_layer.weight_g`,
 * `last_layer.weight_v`). `last_layer.weight_g` is a non-trainable variable when `normLastLayer`
 * (PyTorch's `requires_grad = False`): it is listed by `params()` (it is in the state dict) but
 * `v.trainable` is false. BatchNorm running statistics are buffers, in `buffers()`, never in
 * `params()`.
 *
 * @example
 * ```ts
 * const head = new DinoHead({ inDim: 192, outDim: 4096, hiddenDim: 512, bottleneckDim: 128 });
 * const logits = head.apply(tf.randomNormal([8, 192]));   // [8, 4096]
 * ```
 */
export class DinoHead extends Module {
  readonly config: ResolvedDinoHeadConfig;
  /** The reference's `mlp`: a bare Linear when nlayers is 1, else an nn.Sequential-like container. */
  readonly mlp: Module;
  /** The reference's `last_layer` (weight-normalised, no bias). */
  readonly lastLayer: WeightNormLinear;
  private readonly layers: MlpLayer[] = [];

  constructor(config: DinoHeadConfig, rng?: Rng) {
    super();
    this.config = resolveHeadConfig(config);
    const { inDim, outDim, useBn, normLastLayer, nlayers, hiddenDim, bottleneckDim } = this.config;
    const r = rng ?? new Rng(this.config.seed);

    const dims: Array<[number, number]> = nlayers === 1
      ? [[inDim, bottleneckDim]]
      : [[inDim, hiddenDim], ...Array.from({ length: nlayers - 2 }, (): [number, number] => [hiddenDim, hiddenDim]), [hiddenDim, bottleneckDim]];
    // Reference _init_weights: trunc_normal_(std=.02) weights, zero biases (Linear's init),
    // drawn layer by layer.
    if (nlayers === 1) {
      // nlayers == 1: the reference's `mlp` is a bare nn.Linear (state-dict names `mlp.weight`).
      const lin = this.registerModule('mlp', new Linear(inDim, bottleneckDim, { rng: r }));
      this.mlp = lin;
      this.layers.push({ linear: lin, act: false });
    } else {
      // nn.Sequential(Linear, [BatchNorm1d], GELU, ..., Linear): children named by their index,
      // GELU entries have no parameters, so their indices are skipped.
      const seq = this.registerModule('mlp', new Module());
      this.mlp = seq;
      let idx = 0;
      dims.forEach(([din, dout], i) => {
        const last = i === dims.length - 1;
        const layer: MlpLayer = { linear: seq.registerModule(String(idx++), new Linear(din, dout, { rng: r })), act: !last };
        if (!last) {
          if (useBn) layer.bn = seq.registerModule(String(idx++), new BatchNorm(dout));
          idx++; // GELU
        }
        this.layers.push(layer);
      });
    }
    // The reference applies _init_weights before creating the last layer, so it keeps
    // nn.Linear's default init (see WeightNormLinear).
    this.lastLayer = this.registerModule('last_layer', new WeightNormLinear(bottleneckDim, outDim, { trainableGain: !normLastLayer, rng: r }));
  }

  get inDim(): number {
    return this.config.inDim;
  }

  get outDim(): number {
    return this.config.outDim;
  }

  /** [B, inDim] features -> [B, outDim] logits. */
  apply(x: tf.Tensor2D, opts: HeadApplyOptions = {}): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.config.inDim) {
      throw new ShapeError(`DinoHead.apply: x must be [batch, ${this.config.inDim}], got [${x.shape}]`);
    }
    const training = opts.training ?? this.training;
    return tf.tidy(() => {
      let h = x;
      for (const layer of this.layers) {
        h = layer.linear.forward(h);
        // In training mode BatchNorm also advances its running statistics, once per call.
        if (layer.bn) h = layer.bn.forward(h, training);
        if (layer.act) h = gelu(h);
      }
      return this.lastLayer.forward(l2Normalize(h));
    });
  }
}
