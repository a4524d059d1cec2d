import * as tf from '@tensorflow/tfjs-core';
import {
  Rng,
  ShapeError,
  type HasParams,
  type Params,
  variable,
  truncNormalVariable,
  zerosVariable,
  onesVariable,
  disposeParams,
} from '@dino-ts/core';
import { resolveHeadConfig, type DinoHeadConfig, type ResolvedDinoHeadConfig } from './config';
import { gelu } from './gelu';
import { linear } from './linear';
import { batchNormTrain, batchNormEval, BATCH_NORM_MOMENTUM } from './batch-norm';
import { weightNorm, l2Normalize } from './weight-norm';

export interface HeadApplyOptions {
  /**
   * Training mode: BatchNorm (if any) normalises with batch statistics and updates its running
   * averages, as a PyTorch module in `train()` mode. Without BatchNorm it changes nothing.
   * Default false.
   */
  training?: boolean;
}

/** One Linear layer of the MLP, with its optional BatchNorm, by state-dict module prefix. */
interface MlpLayer {
  linear: string;
  bn?: string;
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
export class DinoHead implements HasParams {
  readonly config: ResolvedDinoHeadConfig;
  private readonly layers: MlpLayer[];
  private readonly vars: Params = new Map();
  private readonly bufs: Params = new Map();

  constructor(config: DinoHeadConfig, rng?: Rng) {
    this.config = resolveHeadConfig(config);
    const { inDim, outDim, useBn, normLastLayer, nlayers, hiddenDim, bottleneckDim } = this.config;
    const r = rng ?? new Rng(this.config.seed);
    this.layers = mlpLayout(nlayers, useBn);

    const dims: Array<[number, number]> = nlayers === 1
      ? [[inDim, bottleneckDim]]
      : [[inDim, hiddenDim], ...Array.from({ length: nlayers - 2 }, (): [number, number] => [hiddenDim, hiddenDim]), [hiddenDim, bottleneckDim]];
    this.layers.forEach((layer, i) => {
      const [din, dout] = dims[i];
      // Reference _init_weights: trunc_normal_(std=.02) weights, zero biases.
      this.vars.set(`${layer.linear}.weight`, truncNormalVariable(`head.${layer.linear}.weight`, [dout, din], r, 0.02));
      this.vars.set(`${layer.linear}.bias`, zerosVariable(`head.${layer.linear}.bias`, [dout]));
      if (layer.bn) {
        this.vars.set(`${layer.bn}.weight`, onesVariable(`head.${layer.bn}.weight`, [dout]));
        this.vars.set(`${layer.bn}.bias`, zerosVariable(`head.${layer.bn}.bias`, [dout]));
        this.bufs.set(`${layer.bn}.running_mean`, nonTrainable(`head.${layer.bn}.running_mean`, tf.zeros([dout])));
        this.bufs.set(`${layer.bn}.running_var`, nonTrainable(`head.${layer.bn}.running_var`, tf.ones([dout])));
        // A float counter (exact to 2^24 steps) so buffers load with the same float path as params.
        this.bufs.set(`${layer.bn}.num_batches_tracked`, nonTrainable(`head.${layer.bn}.num_batches_tracked`, tf.scalar(0)));
      }
    });
    // The last layer keeps nn.Linear's default init (kaiming_uniform_(a=sqrt(5)), i.e.
    // U(-1/sqrt(in), 1/sqrt(in))): the reference applies _init_weights before creating it.
    const bound = 1 / Math.sqrt(bottleneckDim);
    const v = new Float32Array(outDim * bottleneckDim);
    for (let i = 0; i < v.length; i++) v[i] = r.uniform(-bound, bound);
    this.vars.set('last_layer.weight_g', nonTrainable('head.last_layer.weight_g', tf.ones([outDim, 1]), !normLastLayer));
    this.vars.set('last_layer.weight_v', tf.tidy(() => variable('head.last_layer.weight_v', tf.tensor2d(v, [outDim, bottleneckDim]))));
  }

  get inDim(): number {
    return this.config.inDim;
  }

  get outDim(): number {
    return this.config.outDim;
  }

  /** All parameters in the reference's state-dict order (including a frozen weight_g). */
  params(): Params {
    return new Map(this.vars);
  }

  /** BatchNorm running statistics (`mlp.<i>.running_mean`, `running_var`, `num_batches_tracked`). */
  buffers(): Params {
    return new Map(this.bufs);
  }

  /** [B, inDim] features -> [B, outDim] logits. */
  apply(x: tf.Tensor2D, opts: HeadApplyOptions = {}): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.config.inDim) {
      throw new ShapeError(`DinoHead.apply: x must be [batch, ${this.config.inDim}], got [${x.shape}]`);
    }
    const training = opts.training ?? false;
    const updates: Array<() => void> = [];
    const out = tf.tidy(() => {
      let h = x;
      for (const layer of this.layers) {
        h = linear(h, this.p(`${layer.linear}.weight`) as tf.Tensor2D, this.p(`${layer.linear}.bias`) as tf.Tensor1D);
        if (layer.bn) h = this.batchNorm(h, layer.bn, training, updates);
        if (layer.act) h = gelu(h);
      }
      const w = weightNorm(this.p('last_layer.weight_g') as tf.Tensor2D, this.p('last_layer.weight_v') as tf.Tensor2D);
      return linear(l2Normalize(h), w);
    });
    for (const u of updates) u();
    return out;
  }

  dispose(): void {
    disposeParams(this.vars);
    disposeParams(this.bufs);
  }

  private p(name: string): tf.Variable {
    return this.vars.get(name)!;
  }

  private batchNorm(h: tf.Tensor2D, bn: string, training: boolean, updates: Array<() => void>): tf.Tensor2D {
    const weight = this.p(`${bn}.weight`) as tf.Tensor1D;
    const bias = this.p(`${bn}.bias`) as tf.Tensor1D;
    const rm = this.bufs.get(`${bn}.running_mean`)!;
    const rv = this.bufs.get(`${bn}.running_var`)!;
    if (!training) return batchNormEval(h, rm as tf.Tensor1D, rv as tf.Tensor1D, weight, bias);
    const { y, stats } = batchNormTrain(h, weight, bias);
    const mean = tf.keep(stats.mean);
    const varUnbiased = tf.keep(stats.varUnbiased);
    // Running averages are committed after the forward pass (outside the tidy and any gradient
    // tape): running = (1 - momentum) running + momentum batch, PyTorch's convention.
    updates.push(() => {
      const nbt = this.bufs.get(`${bn}.num_batches_tracked`)!;
      tf.tidy(() => {
        rm.assign(tf.add(tf.mul(rm, 1 - BATCH_NORM_MOMENTUM), tf.mul(mean, BATCH_NORM_MOMENTUM)));
        rv.assign(tf.add(tf.mul(rv, 1 - BATCH_NORM_MOMENTUM), tf.mul(varUnbiased, BATCH_NORM_MOMENTUM)));
        nbt.assign(tf.add(nbt, 1));
      });
      mean.dispose();
      varUnbiased.dispose();
    });
    return y;
  }
}

/** Module indices of the reference nn.Sequential (Linear, [BatchNorm1d], GELU, ...). */
function mlpLayout(nlayers: number, useBn: boolean): MlpLayer[] {
  // nlayers == 1: the reference's `mlp` is a bare nn.Linear (state-dict names `mlp.weight`).
  if (nlayers === 1) return [{ linear: 'mlp', act: false }];
  const layers: MlpLayer[] = [];
  let idx = 0;
  for (let i = 0; i < nlayers - 1; i++) {
    const layer: MlpLayer = { linear: `mlp.${idx++}`, act: true };
    if (useBn) layer.bn = `mlp.${idx++}`;
    idx++; // GELU
    layers.push(layer);
  }
  layers.push({ linear: `mlp.${idx}`, act: false });
  return layers;
}

function nonTrainable(name: string, value: tf.Tensor, trainable = false): tf.Variable {
  const v = variable(name, value, trainable);
  value.dispose();
  return v;
}
