/**
 * ResNet with basic blocks (He et al. 2016; torchvision's `resnet18` / `resnet34` layout), the
 * convnet backbone of DINO's ResNet experiments, sized for small data: a width multiplier and a
 * small-input stem (3x3 stride-1 conv, no max-pool; the usual CIFAR variant).
 *
 * Parameters and buffers carry torchvision's state-dict names (`conv1.weight`,
 * `bn1.running_mean`, `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, ...), so
 * torchvision weights load as they are. Convolutions are im2col + matMul (see conv.ts), so the
 * network trains on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, ShapeError, checkInt, disposeParams, variable, type Params } from '@dino-ts/core';
import type { Backbone, BackboneFeatures, ForwardOptions } from './types';
import { conv2d } from './conv';
import { batchNorm, type BatchNormState } from './batch-norm';

export interface ResNetConfig {
  /** Basic blocks per stage: [2, 2, 2, 2] is ResNet-18, [3, 4, 6, 3] ResNet-34. */
  layers?: [number, number, number, number];
  /** Channels of the first stage; stages have width x (1, 2, 4, 8). torchvision: 64. */
  width?: number;
  /** Input channels. */
  inChans?: number;
  /** 3x3 stride-1 stem without max-pool (small images such as 32 px) instead of 7x7/2 + max-pool/2. */
  smallInput?: boolean;
  /** Seed of the initialisation. */
  seed?: number;
}

/** The defaults of `ResNetConfig` (torchvision's resnet18). */
export const RESNET_DEFAULTS = {
  layers: [2, 2, 2, 2] as [number, number, number, number],
  width: 64,
  inChans: 3,
  smallInput: false,
  seed: 0,
} as const;

interface Conv {
  weight: tf.Variable<tf.Rank.R4>;
  stride: number;
  pad: number;
}

interface BasicBlock {
  conv1: Conv;
  bn1: BatchNormState;
  conv2: Conv;
  bn2: BatchNormState;
  downsample?: { conv: Conv; bn: BatchNormState };
}

/**
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ResNet } from '@dino-ts/backbones';
 * const net = new ResNet({ width: 16, smallInput: true });           // CIFAR-style ResNet-18
 * const feat = net.forward(tf.randomNormal([4, 32, 32, 3]), { training: true }); // [4, 128]
 */
export class ResNet implements Backbone {
  readonly name: string;
  readonly config: Required<ResNetConfig>;
  readonly embedDim: number;
  /** Total stride: 32 with the ImageNet stem, 8 with the small-input stem. */
  readonly patchSize: number;
  readonly inChans: number;
  readonly hasSelfAttention = false;

  private readonly stem: { conv: Conv; bn: BatchNormState };
  private readonly stages: BasicBlock[][] = [];
  private readonly paramMap: Params = new Map();
  private readonly bufferMap: Params = new Map();
  private readonly stateOrder: string[] = [];

  constructor(config: ResNetConfig = {}, name = 'resnet') {
    const c = resolveResNetConfig(config);
    this.config = c;
    this.name = name;
    this.inChans = c.inChans;
    this.embedDim = 8 * c.width;
    this.patchSize = c.smallInput ? 8 : 32;
    const rng = new Rng(c.seed);

    const conv = (key: string, out: number, inC: number, k: number, stride: number, pad: number): Conv => {
      // torchvision: kaiming_normal_(mode='fan_out', nonlinearity='relu'): std = sqrt(2 / (out * k * k)).
      const std = Math.sqrt(2 / (out * k * k));
      const values = Float32Array.from({ length: out * inC * k * k }, () => rng.normal(0, std));
      const weight = tf.tidy(() => variable(key, tf.tensor4d(values, [out, inC, k, k]))) as tf.Variable<tf.Rank.R4>;
      this.addParam(key, weight);
      return { weight, stride, pad };
    };
    const bn = (key: string, ch: number): BatchNormState => {
      const state: BatchNormState = {
        weight: tf.tidy(() => variable(`${key}.weight`, tf.ones([ch]))),
        bias: tf.tidy(() => variable(`${key}.bias`, tf.zeros([ch]))),
        runningMean: tf.tidy(() => variable(`${key}.running_mean`, tf.zeros([ch]), false)),
        runningVar: tf.tidy(() => variable(`${key}.running_var`, tf.ones([ch]), false)),
        numBatchesTracked: tf.tidy(() => variable(`${key}.num_batches_tracked`, tf.scalar(0), false)),
      };
      this.addParam(`${key}.weight`, state.weight);
      this.addParam(`${key}.bias`, state.bias);
      this.addBuffer(`${key}.running_mean`, state.runningMean);
      this.addBuffer(`${key}.running_var`, state.runningVar);
      this.addBuffer(`${key}.num_batches_tracked`, state.numBatchesTracked);
      return state;
    };

    const w = c.width;
    this.stem = c.smallInput
      ? { conv: conv('conv1.weight', w, c.inChans, 3, 1, 1), bn: bn('bn1', w) }
      : { conv: conv('conv1.weight', w, c.inChans, 7, 2, 3), bn: bn('bn1', w) };
    let inplanes = w;
    c.layers.forEach((blocks, s) => {
      const planes = w * 2 ** s;
      const stage: BasicBlock[] = [];
      for (let i = 0; i < blocks; i++) {
        const stride = i === 0 && s > 0 ? 2 : 1;
        const p = `layer${s + 1}.${i}`;
        const block: BasicBlock = {
          conv1: conv(`${p}.conv1.weight`, planes, inplanes, 3, stride, 1),
          bn1: bn(`${p}.bn1`, planes),
          conv2: conv(`${p}.conv2.weight`, planes, planes, 3, 1, 1),
          bn2: bn(`${p}.bn2`, planes),
        };
        if (stride !== 1 || inplanes !== planes) {
          block.downsample = {
            conv: conv(`${p}.downsample.0.weight`, planes, inplanes, 1, stride, 0),
            bn: bn(`${p}.downsample.1`, planes),
          };
        }
        stage.push(block);
        inplanes = planes;
      }
      this.stages.push(stage);
    });
  }

  /** Trainable parameters (conv weights, BatchNorm weight and bias), torchvision names and order. */
  params(): Params {
    return new Map(this.paramMap);
  }

  /** Non-trainable BatchNorm buffers (running_mean, running_var, num_batches_tracked). */
  buffers(): Params {
    return new Map(this.bufferMap);
  }

  /** Parameters and buffers in torchvision's state-dict order (for checkpoints and loading). */
  stateDict(): Params {
    return new Map(this.stateOrder.map((k) => [k, (this.paramMap.get(k) ?? this.bufferMap.get(k))!]));
  }

  /**
   * Globally average-pooled features of the last stage [B, 8 * width]. Training mode uses batch
   * statistics in every BatchNorm and updates the running statistics (PyTorch's `train()`).
   */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    this.checkInput(x);
    return tf.tidy(() => tf.mean(this.run(x, !!opts.training, 4).at(-1)!, [1, 2]) as tf.Tensor2D);
  }

  /** Pooled feature [B, D] and the last feature map flattened to [B, h*w, D]. */
  forwardFeatures(x: tf.Tensor4D, opts: ForwardOptions = {}): BackboneFeatures {
    this.checkInput(x);
    return tf.tidy(() => {
      const map = this.run(x, !!opts.training, 4).at(-1)!;
      const [b, h, w, d] = map.shape;
      return { cls: tf.mean(map, [1, 2]) as tf.Tensor2D, patchTokens: tf.reshape(map, [b, h * w, d]) as tf.Tensor3D };
    });
  }

  /**
   * Outputs of the last `n` stages (n <= 4), each flattened to [B, h*w, C] (C = width x 1, 2, 4, 8:
   * the stages differ in size), oldest first; eval mode.
   */
  getIntermediateLayers(x: tf.Tensor4D, n = 1): tf.Tensor3D[] {
    checkInt('n', n, 1, 4);
    this.checkInput(x);
    return tf.tidy(() =>
      this.run(x, false, 4)
        .slice(4 - n)
        .map((m) => tf.reshape(m, [m.shape[0], m.shape[1] * m.shape[2], m.shape[3]]) as tf.Tensor3D),
    );
  }

  getLastSelfAttention(): tf.Tensor4D {
    throw new Error(`${this.name}: a convnet has no self-attention; getLastSelfAttention needs a ViT backbone`);
  }

  dispose(): void {
    disposeParams(this.paramMap);
    disposeParams(this.bufferMap);
  }

  private addParam(key: string, v: tf.Variable): void {
    this.paramMap.set(key, v);
    this.stateOrder.push(key);
  }

  private addBuffer(key: string, v: tf.Variable): void {
    this.bufferMap.set(key, v);
    this.stateOrder.push(key);
  }

  private checkInput(x: tf.Tensor): void {
    const shape: number[] = x != null && Array.isArray(x.shape) ? x.shape : [];
    const [b = 0, h = 0, w = 0, c = 0] = shape;
    if (shape.length !== 4 || b < 1 || h < 1 || w < 1 || c !== this.inChans) {
      throw new ShapeError(
        `${this.name}: input must be NHWC [B, H, W, ${this.inChans}] with B, H, W >= 1; got ` +
          (shape.length ? `[${shape.join(', ')}]` : String(x)),
      );
    }
  }

  /** Stem, then the first `stages` stages; returns each stage's output. */
  private run(x: tf.Tensor4D, training: boolean, stages: number): tf.Tensor4D[] {
    let y = tf.relu(batchNorm(conv2d(x, this.stem.conv.weight, this.stem.conv.stride, this.stem.conv.pad), this.stem.bn, training));
    if (!this.config.smallInput) y = tf.maxPool(y, 3, 2, 1);
    const outs: tf.Tensor4D[] = [];
    for (const stage of this.stages.slice(0, stages)) {
      for (const blk of stage) y = this.block(y, blk, training);
      outs.push(y);
    }
    return outs;
  }

  private block(x: tf.Tensor4D, blk: BasicBlock, training: boolean): tf.Tensor4D {
    const cv = (t: tf.Tensor4D, c: Conv) => conv2d(t, c.weight, c.stride, c.pad);
    const out = batchNorm(cv(tf.relu(batchNorm(cv(x, blk.conv1), blk.bn1, training)), blk.conv2), blk.bn2, training);
    const identity = blk.downsample ? batchNorm(cv(x, blk.downsample.conv), blk.downsample.bn, training) : x;
    return tf.relu(tf.add(out, identity)) as tf.Tensor4D;
  }
}

/** Fills in defaults and validates, throwing a ConfigError naming the parameter. */
export function resolveResNetConfig(cfg: ResNetConfig): Required<ResNetConfig> {
  if (cfg === null || typeof cfg !== 'object') throw new ConfigError('config', cfg, 'must be a ResNetConfig object');
  const layers = cfg.layers ?? RESNET_DEFAULTS.layers;
  if (!Array.isArray(layers) || layers.length !== 4 || !layers.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new ConfigError('layers', layers, 'must be 4 integers >= 1 (blocks per stage)');
  }
  const width = cfg.width ?? RESNET_DEFAULTS.width;
  const inChans = cfg.inChans ?? RESNET_DEFAULTS.inChans;
  const smallInput = cfg.smallInput ?? RESNET_DEFAULTS.smallInput;
  const seed = cfg.seed ?? RESNET_DEFAULTS.seed;
  checkInt('width', width, 1);
  checkInt('inChans', inChans, 1);
  if (typeof smallInput !== 'boolean') throw new ConfigError('smallInput', smallInput, 'must be true or false');
  checkInt('seed', seed, 0, 0xffffffff);
  return { layers: [...layers] as [number, number, number, number], width, inChans, smallInput, seed };
}
