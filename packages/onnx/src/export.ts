/**
 * The dino-ts Vision Transformer as an ONNX graph: the inference the reference's `forward`
 * (final-normalised CLS token) and `get_last_selfattention` compute, with the weights as
 * initializers under the reference's state-dict names and layouts.
 */
import { ConfigError, LayerNorm, defaultsOf, resolveSettings, setting, type SettingsInput, type SettingsOf } from '@dino-ts/core';
import { Attention, Block, Mlp, type VisionTransformer } from '@dino-ts/backbones';
import { version as PACKAGE_VERSION } from '../package.json';
import { DataType, attr, graphProto, modelProto, nodeProto, tensorProto, valueInfoProto, type Attribute } from './onnx-proto';
import type { ProtoWriter } from './protobuf';

/** The export's settings, declared once (default, range, help). */
export const ONNX_EXPORT_SETTINGS = {
  opset: setting.int(17, 'ONNX opset of the default domain (17 is the first with LayerNormalization)', { min: 17, max: 21 }),
  attention: setting.boolean(true, "also output the last block's softmax attention [batch, heads, N+1, N+1]"),
  layout: setting.choice(['NCHW', 'NHWC'] as const, 'NCHW', 'layout of the `images` input (NCHW is the PyTorch reference\'s)'),
} as const;

/** `exportOnnx` defaults: opset 17, attention output on, NCHW input. */
export const ONNX_EXPORT_DEFAULTS = defaultsOf(ONNX_EXPORT_SETTINGS);

/** Options of `exportOnnx`; any subset, `undefined` meaning the default. */
export type OnnxExportOptions = SettingsInput<typeof ONNX_EXPORT_SETTINGS>;
export type ResolvedOnnxExportOptions = SettingsOf<typeof ONNX_EXPORT_SETTINGS>;

/** The graph's input and output names. */
export const ONNX_NAMES = { images: 'images', cls: 'cls', attention: 'attention' } as const;

/**
 * The IR version each opset shipped with (onnx's VERSION_TABLE): a runtime that reads the opset
 * reads that IR version, and declaring the oldest one keeps older runtimes able to load the file.
 */
const IR_VERSION_OF_OPSET: Record<number, number> = { 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

/**
 * Exports `vit` as an ONNX model (the protobuf bytes of a `.onnx` file).
 *
 * Graph input `images`: float32 `[batch, C, H, W]` (or `[batch, H, W, C]` with `layout: 'NHWC'`)
 * at the ViT's own image size, `batch` dynamic. Outputs: `cls` `[batch, D]`, what `vit.forward`
 * returns (inference mode: no drop path); with `attention` (default), `attention`
 * `[batch, heads, N+1, N+1]`, what `vit.getLastSelfAttention` returns.
 *
 * Only the standard parts can be written (the `Block`, `Attention`, `Mlp` and `LayerNorm`
 * classes, the defaults of `VitConfig`); a ViT built with other factories is refused with a
 * ConfigError rather than exported wrongly. The weights are read with `data()` (no tensors are
 * created), so the ViT may live on any backend.
 */
export async function exportOnnx(vit: VisionTransformer, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const opts = resolveSettings(ONNX_EXPORT_SETTINGS, options);
  const spec = describeVit(vit);
  const weights = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const [name, v] of vit.params()) {
    if (v.dtype !== 'float32') throw new ConfigError(name, v.dtype, 'must be a float32 parameter to be exported');
    weights.set(name, { dims: [...v.shape], data: (await v.data()) as Float32Array });
  }
  return buildModel(spec, weights, opts);
}

/** What the graph needs to know about the ViT besides its weights. */
interface VitSpec {
  inChans: number;
  imgSize: [number, number];
  patchSize: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpHiddenDim: number;
  qkvBias: boolean;
  /** LayerNorm epsilon of each block's norm1, norm2, and of the final norm. */
  eps: { norm1: number[]; norm2: number[]; norm: number };
}

/**
 * Same class, from this or the other build of the package: an application can load both the ESM
 * and the CJS build of @dino-ts/backbones, and then their classes are distinct objects.
 * Subclasses do not count: they may override the forward pass the graph reproduces.
 */
function isExactly(value: unknown, cls: abstract new (...args: never[]) => unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const ctor = Object.getPrototypeOf(value)?.constructor;
  return ctor === cls || (typeof ctor === 'function' && ctor.name === cls.name);
}

/** Checks that the ViT is made of the standard parts with the standard parameters, and reads its sizes. */
function describeVit(vit: VisionTransformer): VitSpec {
  if (vit === null || typeof vit !== 'object' || typeof vit.params !== 'function' || !vit.config || !vit.blocks) {
    throw new ConfigError('vit', vit, 'must be a VisionTransformer of @dino-ts/backbones');
  }
  const c = vit.config;
  const refuse = (what: string, why: string): never => {
    throw new ConfigError(what, vit.name, `${why}; exportOnnx writes the standard ViT (Block, Attention, Mlp, LayerNorm)`);
  };
  const eps = { norm1: [] as number[], norm2: [] as number[], norm: 0 };
  const normEps = (where: string, m: unknown): number => {
    if (!isExactly(m, LayerNorm)) refuse(where, 'is not a LayerNorm');
    return (m as LayerNorm).eps;
  };
  for (let i = 0; i < vit.depth; i++) {
    const b = vit.blocks.get(i);
    if (!isExactly(b, Block)) refuse(`blocks.${i}`, 'is not the standard Block');
    const block = b as Block;
    if (!isExactly(block.attn, Attention)) refuse(`blocks.${i}.attn`, 'is not the standard Attention');
    if (!isExactly(block.mlp, Mlp)) refuse(`blocks.${i}.mlp`, 'is not the standard Mlp');
    eps.norm1.push(normEps(`blocks.${i}.norm1`, block.norm1));
    eps.norm2.push(normEps(`blocks.${i}.norm2`, block.norm2));
  }
  eps.norm = normEps('norm', vit.norm);

  const spec: VitSpec = {
    inChans: c.inChans,
    imgSize: [c.imgSize[0], c.imgSize[1]],
    patchSize: c.patchSize,
    embedDim: c.embedDim,
    depth: c.depth,
    numHeads: c.numHeads,
    mlpHiddenDim: c.mlpHiddenDim,
    qkvBias: c.qkvBias,
    eps,
  };
  // The parameters must be exactly the reference's: a missing or extra tensor means a part the
  // graph would not reproduce.
  const expected = expectedParams(spec);
  const actual = vit.params();
  for (const [name, shape] of expected) {
    const v = actual.get(name);
    if (!v) refuse(name, 'is missing');
    if (v!.shape.join(',') !== shape.join(',')) {
      throw new ConfigError(name, `[${v!.shape.join(', ')}]`, `must have shape [${shape.join(', ')}]`);
    }
  }
  for (const name of actual.keys()) if (!expected.has(name)) refuse(name, 'is not a parameter of the standard ViT');
  return spec;
}

/** The reference ViT's state dict: names and shapes. */
function expectedParams(s: VitSpec): Map<string, number[]> {
  const d = s.embedDim;
  const p = s.patchSize;
  const tokens = (s.imgSize[0] / p) * (s.imgSize[1] / p) + 1;
  const m = new Map<string, number[]>([
    ['cls_token', [1, 1, d]],
    ['pos_embed', [1, tokens, d]],
    ['patch_embed.proj.weight', [d, s.inChans, p, p]],
    ['patch_embed.proj.bias', [d]],
  ]);
  for (let i = 0; i < s.depth; i++) {
    const b = `blocks.${i}`;
    m.set(`${b}.norm1.weight`, [d]).set(`${b}.norm1.bias`, [d]);
    m.set(`${b}.attn.qkv.weight`, [3 * d, d]);
    if (s.qkvBias) m.set(`${b}.attn.qkv.bias`, [3 * d]);
    m.set(`${b}.attn.proj.weight`, [d, d]).set(`${b}.attn.proj.bias`, [d]);
    m.set(`${b}.norm2.weight`, [d]).set(`${b}.norm2.bias`, [d]);
    m.set(`${b}.mlp.fc1.weight`, [s.mlpHiddenDim, d]).set(`${b}.mlp.fc1.bias`, [s.mlpHiddenDim]);
    m.set(`${b}.mlp.fc2.weight`, [d, s.mlpHiddenDim]).set(`${b}.mlp.fc2.bias`, [d]);
  }
  m.set('norm.weight', [d]).set('norm.bias', [d]);
  return m;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The little-endian bytes of a typed array (a view on little-endian hosts, a swapped copy elsewhere). */
function leBytes(a: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  a.forEach((v: number | bigint, i: number) => {
    if (typeof v === 'bigint') view.setBigInt64(i * 8, v, true);
    else view.setFloat32(i * 4, v, true);
  });
  return out;
}

/** Collects nodes and initializers, naming every intermediate tensor uniquely. */
class GraphBuilder {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  /** A float32 initializer (a weight, under its own name). */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.claim(name);
    this.initializers.push(tensorProto(name, DataType.FLOAT, dims, leBytes(data)));
    return name;
  }

  /** An int64 constant (shapes, indices), shared by every node that uses the same values. */
  int64(values: readonly number[], scalar = false): string {
    const key = `i64:${scalar ? 's' : ''}${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.unique(`const_${scalar ? 'scalar_' : ''}${values.join('_').replace(/-/g, 'm')}`);
      const data = BigInt64Array.from(values, (v) => BigInt(v));
      this.initializers.push(tensorProto(name, DataType.INT64, scalar ? [] : [values.length], leBytes(data)));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant. */
  float(value: number): string {
    const key = `f32:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.unique(`const_f_${String(value).replace(/[^0-9a-z]/gi, '_')}`);
      this.initializers.push(tensorProto(name, DataType.FLOAT, [], leBytes(Float32Array.of(value))));
      this.constants.set(key, name);
    }
    return name;
  }

  /** Adds a node with one output, named `output` if given (a graph output), else `<scope>/<opType>`. */
  op(scope: string, opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    const out = output ? this.claim(output) : this.unique(`${scope}/${opType}`);
    this.nodes.push(nodeProto(opType, inputs, [out], `${out}#node`, attributes));
    return out;
  }

  private unique(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    return this.claim(name);
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`onnx export: duplicate tensor name ${name}`);
    this.used.add(name);
    return name;
  }
}

function buildModel(s: VitSpec, weights: Map<string, { dims: number[]; data: Float32Array }>, opts: ResolvedOnnxExportOptions): Uint8Array {
  const g = new GraphBuilder();
  const w = (name: string): string => {
    const t = weights.get(name)!;
    return g.weight(name, t.dims, t.data);
  };
  const d = s.embedDim;
  const heads = s.numHeads;
  const headDim = d / heads;
  const p = s.patchSize;
  const [height, width] = s.imgSize;
  const numPatches = (height / p) * (width / p);
  const tokens = numPatches + 1;

  // Patch embedding: the reference's own Conv2d(C, D, p, stride p) on NCHW, so its weight is
  // written in its [D, C, p, p] layout, unchanged. Flattened to [B, N, D] in row-major grid order.
  const images = ONNX_NAMES.images;
  const nchw = opts.layout === 'NHWC' ? g.op('patch_embed', 'Transpose', [images], { perm: attr.ints([0, 3, 1, 2]) }) : images;
  const conv = g.op('patch_embed', 'Conv', [nchw, w('patch_embed.proj.weight'), w('patch_embed.proj.bias')], {
    kernel_shape: attr.ints([p, p]),
    strides: attr.ints([p, p]),
  });
  // Reshape's 0 copies the input's dimension: the batch stays dynamic.
  const patches = g.op('patch_embed', 'Transpose', [g.op('patch_embed', 'Reshape', [conv, g.int64([0, d, numPatches])])], { perm: attr.ints([0, 2, 1]) });

  // The CLS token broadcast to the batch: Expand to [batch, 1, D], batch read off the input.
  const batch = g.op('cls_token', 'Shape', [images], { start: attr.int(0), end: attr.int(1) });
  const clsShape = g.op('cls_token', 'Concat', [batch, g.int64([1, d])], { axis: attr.int(0) });
  const cls = g.op('cls_token', 'Expand', [w('cls_token'), clsShape]);
  const embedded = g.op('pos_embed', 'Add', [g.op('tokens', 'Concat', [cls, patches], { axis: attr.int(1) }), w('pos_embed')]);

  // The token count is fixed by the image size, so the blocks work on a 2-D [batch * (N+1), D]
  // matrix: every Linear is one Gemm with the PyTorch [out, in] weight as it is (transB), and
  // only the attention products need the batch and head axes.
  let x = g.op('tokens', 'Reshape', [embedded, g.int64([-1, d])]);
  const linear = (scope: string, input: string, prefix: string, bias = true): string =>
    g.op(scope, 'Gemm', bias ? [input, w(`${prefix}.weight`), w(`${prefix}.bias`)] : [input, w(`${prefix}.weight`)], { transB: attr.int(1) });
  const layerNorm = (scope: string, input: string, prefix: string, eps: number, output?: string): string =>
    g.op(scope, 'LayerNormalization', [input, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: attr.int(-1), epsilon: attr.float(eps) }, output);

  const scale = g.float(headDim ** -0.5);
  const sqrt2 = g.float(Math.SQRT2);
  const one = g.float(1);
  const half = g.float(0.5);
  const [q, k, v] = [0, 1, 2].map((i) => g.int64([i], true));

  for (let i = 0; i < s.depth; i++) {
    const b = `blocks.${i}`;
    const last = i === s.depth - 1;
    // Attention: qkv's 3D outputs are ordered (q|k|v, head, head_dim), as the reference's
    // reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4).
    const h = layerNorm(`${b}/norm1`, x, `${b}.norm1`, s.eps.norm1[i]);
    const qkv = linear(`${b}/attn/qkv`, h, `${b}.attn.qkv`, s.qkvBias);
    const split = g.op(`${b}/attn`, 'Transpose', [g.op(`${b}/attn`, 'Reshape', [qkv, g.int64([-1, tokens, 3, heads, headDim])])], {
      perm: attr.ints([2, 0, 3, 1, 4]),
    });
    // Gather with a scalar index drops the axis: [batch, heads, N+1, head_dim].
    const [qh, kh, vh] = [q, k, v].map((idx) => g.op(`${b}/attn`, 'Gather', [split, idx], { axis: attr.int(0) }));
    const kt = g.op(`${b}/attn`, 'Transpose', [kh], { perm: attr.ints([0, 1, 3, 2]) });
    const logits = g.op(`${b}/attn`, 'Mul', [g.op(`${b}/attn`, 'MatMul', [qh, kt]), scale]);
    // The last block's softmax is the `attention` output.
    const attnName = last && opts.attention ? ONNX_NAMES.attention : undefined;
    const attn = g.op(`${b}/attn`, 'Softmax', [logits], { axis: attr.int(-1) }, attnName);
    const ctx = g.op(`${b}/attn`, 'Transpose', [g.op(`${b}/attn`, 'MatMul', [attn, vh])], { perm: attr.ints([0, 2, 1, 3]) });
    const proj = linear(`${b}/attn/proj`, g.op(`${b}/attn`, 'Reshape', [ctx, g.int64([-1, d])]), `${b}.attn.proj`);
    x = g.op(b, 'Add', [x, proj]);

    // MLP with the exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's nn.GELU(); the pattern
    // onnxruntime fuses into one Gelu kernel).
    const h2 = layerNorm(`${b}/norm2`, x, `${b}.norm2`, s.eps.norm2[i]);
    const f = linear(`${b}/mlp/fc1`, h2, `${b}.mlp.fc1`);
    const erf = g.op(`${b}/mlp/gelu`, 'Erf', [g.op(`${b}/mlp/gelu`, 'Div', [f, sqrt2])]);
    const gelu = g.op(`${b}/mlp/gelu`, 'Mul', [g.op(`${b}/mlp/gelu`, 'Mul', [f, g.op(`${b}/mlp/gelu`, 'Add', [erf, one])]), half]);
    x = g.op(b, 'Add', [x, linear(`${b}/mlp/fc2`, gelu, `${b}.mlp.fc2`)]);
  }

  // The final norm is per token, so normalising only the CLS row gives the same values as the
  // reference's norm-then-select, at 1/(N+1) of the cost.
  const clsRow = g.op('norm', 'Gather', [g.op('norm', 'Reshape', [x, g.int64([-1, tokens, d])]), g.int64([0], true)], { axis: attr.int(1) });
  layerNorm('norm', clsRow, 'norm', s.eps.norm, ONNX_NAMES.cls);

  const inputShape = opts.layout === 'NHWC' ? ['batch', height, width, s.inChans] : ['batch', s.inChans, height, width];
  const outputs = [valueInfoProto(ONNX_NAMES.cls, DataType.FLOAT, ['batch', d], "final-normalised CLS token (the reference's forward)")];
  if (opts.attention) {
    outputs.push(
      valueInfoProto(ONNX_NAMES.attention, DataType.FLOAT, ['batch', heads, tokens, tokens], "last block's softmax attention; row 0 is the CLS query"),
    );
  }
  const graph = graphProto({
    name: 'dino_vit',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [valueInfoProto(images, DataType.FLOAT, inputShape, `float32 images, ${opts.layout}, at the ViT's image size`)],
    outputs,
  });
  return modelProto({
    irVersion: IR_VERSION_OF_OPSET[opts.opset],
    opset: opts.opset,
    producerName: 'dino-ts',
    producerVersion: PACKAGE_VERSION,
    docString: 'DINO Vision Transformer exported by @dino-ts/onnx',
    graph,
    metadata: {
      'dino_ts.arch': 'vit',
      'dino_ts.img_size': `${height},${width}`,
      'dino_ts.patch_size': String(p),
      'dino_ts.in_chans': String(s.inChans),
      'dino_ts.embed_dim': String(d),
      'dino_ts.depth': String(s.depth),
      'dino_ts.num_heads': String(heads),
      'dino_ts.layout': opts.layout,
    },
  });
}
