/**
 * ResNet with basic blocks (He et al. 2016; torchvision's `resnet18` / `resnet34` layout), the
 * convnet backbone of DINO's ResNet experiments, sized for small data: a width multiplier and a
 * small-input stem (3x3 stride-1 conv, no max-pool; the usual CIFAR variant).
 *
 * Built as torchvision's module tree (`conv1`, `bn1`, `layer1`..`layer4` of `BasicBlock`s with
 * `conv1`, `bn1`, `conv2`, `bn2` and `downsample` = [Conv2d, BatchNorm]), so parameters and
 * buffers carry its state-dict names (`conv1.weight`, `bn1.running_mean`,
 * `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, ...) and torchvision weights load as
 * they are. Convolutions are im2col + matMul (see conv.ts), so the
 * network trains on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, ConfigError, Module, ModuleList, Rng, ShapeError, checkInt } from '@dino-ts/core';
import type { Backbone, BackboneFeatures, ForwardOptions } from './types';
import { Conv2d } from './conv';

export interface ResNetConfig {
  /** Basic blocks per stage: [2, 2, 2, 2] is ResNet-18, [3, 4, 6, 3] ResNet-34. */
  layers?: [number, number, number, number];
  /** Channels of the first stage; stages have width x (1, 2, 4, 8). torchvision: 64. */
  width?: number;
  /** Input channels. */
  inChans?: number;
  /** 3x3 stride-1 stem without max-pool (small images such as 32 px) instead of 7x7/2 + max-pool/2. */
  smallInput?: boolean;
  /**
   * Nominal input size, a number (square) or [height, width]: what the network is meant for and
   * reports as `imgSize` (a convnet takes any size). Default 32 with `smallInput`, else 224.
   */
  imgSize?: number | [number, number];
  /** Seed of the initialisation. */
  seed?: number;
}

/** `ResNetConfig` with every default filled in. */
export interface ResolvedResNetConfig {
  layers: [number, number, number, number];
  width: number;
  inChans: number;
  smallInput: boolean;
  imgSize: [number, number];
  seed: number;
}

/** The defaults of `ResNetConfig` (torchvision's resnet18; imgSize follows the stem). */
export const RESNET_DEFAULTS = {
  layers: [2, 2, 2, 2] as [number, number, number, number],
  width: 64,
  inChans: 3,
  smallInput: false,
  seed: 0,
} as const;

/** Channels-last BatchNorm in train mode iff `training`. */
type Norm = (bn: BatchNorm, x: tf.Tensor4D) => tf.Tensor4D;

/** torchvision's `BasicBlock`: conv3x3-BN-ReLU-conv3x3-BN, plus the (downsampled) input, ReLU. */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  /** 1x1 strided conv + BatchNorm (`downsample.0`, `downsample.1`) when the shape changes. */
  readonly downsample?: { conv: Conv2d; bn: BatchNorm };

  constructor(inplanes: number, planes: number, stride: number, rng: Rng) {
    super();
    const conv = (inC: number, k: number, s: number, pad: number) =>
      new Conv2d(inC, planes, k, { stride: s, padding: pad, init: 'kaimingNormalFanOut', rng });
    // Creation order = torchvision's state-dict order and the order of draws from `rng`.
    this.conv1 = this.registerModule('conv1', conv(inplanes, 3, stride, 1));
    this.bn1 = this.registerModule('bn1', new BatchNorm(planes));
    this.conv2 = this.registerModule('conv2', conv(planes, 3, 1, 1));
    this.bn2 = this.registerModule('bn2', new BatchNorm(planes));
    if (stride !== 1 || inplanes !== planes) {
      // nn.Sequential(conv1x1, BatchNorm2d): a container whose children are named 0 and 1.
      const seq = this.registerModule('downsample', new Module());
      this.downsample = { conv: seq.registerModule('0', conv(inplanes, 1, stride, 0)), bn: seq.registerModule('1', new BatchNorm(planes)) };
    }
  }

  /** Training decides BatchNorm's statistics; default: the block's mode. */
  forward(x: tf.Tensor4D, training: boolean = this.training): tf.Tensor4D {
    const norm: Norm = (bn, t) => bn.forward(t, training);
    return tf.tidy(() => {
      const out = norm(this.bn2, this.conv2.forward(tf.relu(norm(this.bn1, this.conv1.forward(x)))));
      const identity = this.downsample ? norm(this.downsample.bn, this.downsample.conv.forward(x)) : x;
      return tf.relu(tf.add(out, identity)) as tf.Tensor4D;
    });
  }
}

/**
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ResNet } from '@dino-ts/backbones';
 * const net = new ResNet({ width: 16, smallInput: true });           // CIFAR-style ResNet-18
 * const feat = net.forward(tf.randomNormal([4, 32, 32, 3]), { training: true }); // [4, 128]
 */
export class ResNet extends Module implements Backbone {
  readonly name: string;
  readonly config: ResolvedResNetConfig;
  readonly embedDim: number;
  /** Total stride (the Backbone's patchSize): 32 with the ImageNet stem, 8 with the small-input stem. */
  readonly patchSize: number;
  readonly inChans: number;
  /** The nominal input size (config.imgSize); any H, W >= 1 work. */
  readonly imgSize: [number, number];
  /** 4: the stages `getIntermediateLayers` can return. */
  readonly depth = 4;
  readonly hasSelfAttention = false;

  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  /** layer1 .. layer4. */
  readonly stages: ModuleList<BasicBlock>[] = [];

  constructor(config: ResNetConfig = {}, name = 'resnet') {
    super();
    const c = resolveResNetConfig(config);
    this.config = c;
    this.name = name;
    this.inChans = c.inChans;
    this.imgSize = [c.imgSize[0], c.imgSize[1]];
    this.embedDim = 8 * c.width;
    this.patchSize = c.smallInput ? 8 : 32;
    const rng = new Rng(c.seed);

    const w = c.width;
    const [k, stride, pad] = c.smallInput ? [3, 1, 1] : [7, 2, 3];
    this.conv1 = this.registerModule('conv1', new Conv2d(c.inChans, w, k, { stride, padding: pad, init: 'kaimingNormalFanOut', rng }));
    this.bn1 = this.registerModule('bn1', new BatchNorm(w));
    let inplanes = w;
    c.layers.forEach((blocks, s) => {
      const planes = w * 2 ** s;
      const stage = this.registerModule(`layer${s + 1}`, new ModuleList<BasicBlock>());
      for (let i = 0; i < blocks; i++) {
        stage.append(new BasicBlock(inplanes, planes, i === 0 && s > 0 ? 2 : 1, rng));
        inplanes = planes;
      }
      this.stages.push(stage);
    });
  }

  /**
   * Globally average-pooled features of the last stage [B, 8 * width]. Training mode uses batch
   * statistics in every BatchNorm and updates the running statistics (PyTorch's `train()`).
   */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    this.checkInput(x);
    return tf.tidy(() => tf.mean(this.run(x, opts.training ?? this.training).at(-1)!, [1, 2]) as tf.Tensor2D);
  }

  /** Pooled feature [B, D] and the last feature map flattened to [B, h*w, D]. */
  forwardFeatures(x: tf.Tensor4D, opts: ForwardOptions = {}): BackboneFeatures {
    this.checkInput(x);
    return tf.tidy(() => {
      const map = this.run(x, opts.training ?? this.training).at(-1)!;
      const [b, h, w, d] = map.shape;
      return { cls: tf.mean(map, [1, 2]) as tf.Tensor2D, patchTokens: tf.reshape(map, [b, h * w, d]) as tf.Tensor3D };
    });
  }

  /**
   * Outputs of the last `n` stages (n <= 4), each flattened to [B, h*w, C] (C = width x 1, 2, 4, 8:
   * the stages differ in size), oldest first; eval mode.
   */
  getIntermediateLayers(x: tf.Tensor4D, n = 1): tf.Tensor3D[] {
    checkInt('n', n, 1, this.depth);
    this.checkInput(x);
    return tf.tidy(() =>
      this.run(x, false)
        .slice(this.depth - n)
        .map((m) => tf.reshape(m, [m.shape[0], m.shape[1] * m.shape[2], m.shape[3]]) as tf.Tensor3D),
    );
  }

  getLastSelfAttention(): tf.Tensor4D {
    throw new ConfigError('backbone', this.name, 'is a convnet and has no self-attention: getLastSelfAttention needs a ViT backbone');
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

  /** Stem, then every stage; returns each stage's output. */
  private run(x: tf.Tensor4D, training: boolean): tf.Tensor4D[] {
    let y = tf.relu(this.bn1.forward(this.conv1.forward(x), training));
    if (!this.config.smallInput) y = tf.maxPool(y, 3, 2, 1);
    const outs: tf.Tensor4D[] = [];
    for (const stage of this.stages) {
      for (const blk of stage) y = blk.forward(y, training);
      outs.push(y);
    }
    return outs;
  }
}

/** Fills in defaults and validates, throwing a ConfigError naming the parameter. */
export function resolveResNetConfig(cfg: ResNetConfig): ResolvedResNetConfig {
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
  const rawSize = cfg.imgSize ?? (smallInput ? 32 : 224);
  if (Array.isArray(rawSize) && rawSize.length !== 2) {
    throw new ConfigError('imgSize', rawSize, 'must be a positive integer or [height, width]');
  }
  const imgSize: [number, number] = Array.isArray(rawSize) ? [rawSize[0], rawSize[1]] : [rawSize, rawSize];
  checkInt('imgSize', imgSize[0], 1);
  checkInt('imgSize', imgSize[1], 1);
  return { layers: [...layers] as [number, number, number, number], width, inChans, smallInput, imgSize, seed };
}
