/**
 * The architecture of a ViT (or a DINO head) read off its tensors' shapes, so a published file
 * loads without the user restating its sizes. Only the number of attention heads is not in the
 * shapes: the published DINO ViTs (tiny / small / base) all use 64 dimensions per head, so that
 * is the default, and a file's own metadata or the caller can say otherwise.
 */
import type { ResolvedVitConfig } from '@dino-ts/backbones';
import { ConfigError, DataError, checkInt, type NamedArray } from '@dino-ts/core';

/** What a ViT's tensors say about it: the `VitConfig` fields that shape its parameters. */
export type VitArchitecture = Pick<ResolvedVitConfig, 'patchSize' | 'inChans' | 'embedDim' | 'depth' | 'numHeads' | 'mlpRatio' | 'qkvBias'> & {
  /** The image size the position embedding is built for: a number (square) or [height, width]. */
  imgSize: number | [number, number];
};

export interface InferVitOptions {
  /** Attention heads (not in the shapes). Default embedDim / 64, as the published DINO ViTs. */
  numHeads?: number;
  /** For a non-square position embedding: the [height, width] it was built for. */
  imgSize?: number | [number, number];
  /** Names the weights in error messages. */
  source?: string;
}

/** Dimensions per attention head of the published DINO ViTs (384 / 6, 768 / 12, 192 / 3). */
export const HEAD_DIM = 64;

/**
 * Reads a ViT's architecture from its reference-named tensors: embedDim from `cls_token`
 * [1, 1, D], depth from the `blocks.N.` indices, patchSize and inChans from
 * `patch_embed.proj.weight` [D, C, p, p], imgSize from the position embedding's token count
 * (sqrt(N - 1) * p), mlpRatio from `blocks.0.mlp.fc1.weight` [hidden, D], qkvBias from the
 * presence of `blocks.0.attn.qkv.bias`. Throws a DataError naming what is missing or
 * inconsistent, and a ConfigError for a `numHeads` that does not divide embedDim.
 */
export function inferVitArchitecture(backbone: Record<string, NamedArray>, opts: InferVitOptions = {}): VitArchitecture {
  const source = opts.source ?? 'weights';
  const fail = (problem: string): never => {
    throw new DataError(`${source}: ${problem}`, source);
  };
  const names = Object.keys(backbone);
  const get = (name: string, rank: number): number[] => {
    const a = backbone[name];
    if (!a || !Object.prototype.hasOwnProperty.call(backbone, name)) {
      const hint = names.some((n) => /^(conv1|layer\d)\./.test(n)) ? ' (these look like ResNet weights)' : '';
      fail(`not a reference ViT state dict: no "${name}"${hint}; found ${preview(names)}`);
    }
    if (a.shape.length !== rank) fail(`"${name}" has shape [${a.shape}]; a ViT's has ${rank} dimensions`);
    return a.shape;
  };

  const [one, oneToo, embedDim] = get('cls_token', 3);
  if (one !== 1 || oneToo !== 1) fail(`cls_token has shape [${backbone.cls_token.shape}]; expected [1, 1, D]`);
  const [outDim, inChans, ph, pw] = get('patch_embed.proj.weight', 4);
  if (outDim !== embedDim) fail(`patch_embed.proj.weight has ${outDim} outputs but cls_token has ${embedDim} dimensions`);
  if (ph !== pw) fail(`patch_embed.proj.weight has a ${ph}x${pw} kernel; only square patches are supported`);
  const patchSize = ph;
  const [, tokens, posDim] = get('pos_embed', 3);
  if (posDim !== embedDim) fail(`pos_embed has ${posDim} dimensions but cls_token has ${embedDim}`);

  const patches = tokens - 1;
  let imgSize: number | [number, number];
  if (opts.imgSize !== undefined) {
    const [h, w] = Array.isArray(opts.imgSize) ? opts.imgSize : [opts.imgSize, opts.imgSize];
    checkInt('imgSize', h, 1);
    checkInt('imgSize', w, 1);
    if (h % patchSize !== 0 || w % patchSize !== 0 || (h / patchSize) * (w / patchSize) !== patches) {
      throw new ConfigError('imgSize', opts.imgSize, `must give ${patches} patches of ${patchSize} px (the position embedding's)`);
    }
    imgSize = opts.imgSize;
  } else {
    const side = Math.round(Math.sqrt(patches));
    if (patches < 1 || side * side !== patches) fail(`pos_embed has ${patches} patch positions, not a square grid; pass imgSize: [height, width]`);
    imgSize = side * patchSize;
  }

  const blockIds = new Set<number>();
  for (const n of names) {
    const m = /^blocks\.(\d+)\./.exec(n);
    if (m) blockIds.add(Number(m[1]));
  }
  const depth = blockIds.size;
  if (depth === 0) fail('no transformer blocks (blocks.N.*) in the weights');
  for (let i = 0; i < depth; i++) if (!blockIds.has(i)) fail(`blocks are numbered up to ${Math.max(...blockIds)} but block ${i} is missing`);

  const [hidden, fcIn] = get('blocks.0.mlp.fc1.weight', 2);
  if (fcIn !== embedDim) fail(`blocks.0.mlp.fc1.weight has ${fcIn} inputs but the ViT has ${embedDim} dimensions`);
  let mlpRatio = hidden / embedDim;
  // VisionTransformer takes floor(embedDim * mlpRatio) hidden units; make sure the quotient
  // survives that product exactly (e.g. 100 / 3 * 3 must give 100, not 99.99...).
  if (Math.floor(embedDim * mlpRatio) !== hidden) mlpRatio = (hidden + 0.5) / embedDim;
  get('blocks.0.attn.qkv.weight', 2);
  const qkvBias = Object.prototype.hasOwnProperty.call(backbone, 'blocks.0.attn.qkv.bias');

  let numHeads = opts.numHeads;
  if (numHeads === undefined) {
    if (embedDim % HEAD_DIM !== 0) {
      fail(`cannot tell the number of attention heads: embedDim ${embedDim} is not a multiple of ${HEAD_DIM} (the published models' head size); pass numHeads`);
    }
    numHeads = embedDim / HEAD_DIM;
  }
  checkInt('numHeads', numHeads, 1);
  if (embedDim % numHeads !== 0) throw new ConfigError('numHeads', numHeads, `must divide embedDim (${embedDim})`);
  return { imgSize, patchSize, inChans, embedDim, depth, numHeads, mlpRatio, qkvBias };
}

/** The `DinoHeadConfig` of @dino-ts/head that a head's tensors describe. */
export interface DinoHeadArchitecture {
  inDim: number;
  outDim: number;
  useBn: boolean;
  nlayers: number;
  hiddenDim: number;
  bottleneckDim: number;
  /**
   * Whether the weight-norm gain is fixed to 1 (the reference's default): read as "every
   * `last_layer.weight_g` is 1", which is what a fixed gain leaves.
   */
  normLastLayer: boolean;
}

/**
 * Reads a DINO head's configuration from its tensors (`mlp.0.weight`, ..., `last_layer.weight_v`,
 * reference names without the `head.` prefix).
 */
export function inferDinoHeadConfig(head: Record<string, NamedArray>, source = 'weights'): DinoHeadArchitecture {
  const fail = (problem: string): never => {
    throw new DataError(`${source}: ${problem}`, source);
  };
  const v = head['last_layer.weight_v'];
  const g = head['last_layer.weight_g'];
  if (!v || v.shape.length !== 2) fail(`not a DINO head: no 2-D last_layer.weight_v; found ${preview(Object.keys(head))}`);
  const [outDim, bottleneckDim] = v.shape;
  // The MLP's Linear layers in order: `mlp.weight` (1 layer) or `mlp.<i>.weight` of rank 2.
  let linears: number[][];
  let useBn = false;
  if (head['mlp.weight']) linears = [head['mlp.weight'].shape];
  else {
    const idx = Object.keys(head)
      .map((n) => /^mlp\.(\d+)\.weight$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null && head[m[0]].shape.length === 2)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    if (idx.length === 0) fail('not a DINO head: no mlp.*.weight');
    linears = idx.map((i) => head[`mlp.${i}.weight`].shape);
    useBn = Object.keys(head).some((n) => /^mlp\.\d+\.running_mean$/.test(n));
  }
  const nlayers = linears.length;
  if (linears[nlayers - 1][0] !== bottleneckDim) fail(`the head's last MLP layer has ${linears[nlayers - 1][0]} outputs but last_layer takes ${bottleneckDim}`);
  const gains = g ? Array.from(g.data as ArrayLike<number>, Number) : [];
  return {
    inDim: linears[0][1],
    outDim,
    useBn,
    nlayers,
    hiddenDim: nlayers > 1 ? linears[0][0] : 2048,
    bottleneckDim,
    normLastLayer: gains.length > 0 && gains.every((x) => x === 1),
  };
}

function preview(names: string[]): string {
  if (names.length === 0) return 'no tensors';
  return names.length > 6 ? `${names.slice(0, 6).join(', ')}, ... (${names.length} tensors)` : names.join(', ');
}
