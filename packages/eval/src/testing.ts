/**
 * Test helpers of @dino-ts/eval: the fixture reader and a tiny Backbone (patchify + linear embed,
 * single-matrix attention blocks, a final norm) that satisfies the whole Backbone contract, so
 * every protocol can be tested without a full ViT.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { Rng, variable, type Params } from '@dino-ts/core';
import { readFixture } from '@dino-ts/core/testing';
import type { Backbone, BackboneFeatures } from '@dino-ts/backbones';

/** Reads packages/eval/fixtures/<name> (written by scripts/fixtures/make_eval.py). */
export function evalFixture(name: string): ReturnType<typeof readFixture> {
  return readFixture(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)));
}

/** Numbers of a comma-separated fixture metadata entry. */
export function metaNumbers(meta: Record<string, string>, key: string): number[] {
  const v = meta[key];
  if (v === undefined) throw new Error(`fixture metadata has no "${key}"`);
  return v.split(',').map(Number);
}

/**
 * A Backbone of the given parts for a test that needs only some of them (a fixture's layers or
 * attention): every method not given throws 'unused', params are empty, dispose does nothing.
 */
export function stubBackbone(parts: Pick<Backbone, 'name' | 'embedDim' | 'patchSize' | 'imgSize' | 'depth'> & Partial<Backbone>): Backbone {
  const unused = (): never => {
    throw new Error('unused');
  };
  return {
    inChans: 3,
    forward: unused,
    forwardFeatures: unused,
    getIntermediateLayers: unused,
    getLastSelfAttention: unused,
    params: () => new Map(),
    dispose: () => undefined,
    ...parts,
  };
}

export interface TinyBackboneConfig {
  patchSize?: number;
  /** Nominal input side (any multiple of the patch works: positions follow the input). Default 4 patches. */
  imgSize?: number;
  inChans?: number;
  embedDim?: number;
  depth?: number;
  numHeads?: number;
  seed?: number;
}

/**
 * A small ViT-like backbone: tokens = [cls, patches W_e] + pos (pos for a grid read from the first
 * input), blocks x + softmax(q k^T / sqrt(d)) v W_o per head, final normalisation (zero mean, unit
 * variance). Deterministic from `seed`.
 */
export function createTinyBackbone(cfg: TinyBackboneConfig = {}): Backbone {
  const { patchSize = 4, inChans = 3, embedDim = 8, depth = 3, numHeads = 2, seed = 0 } = cfg;
  const imgSize = cfg.imgSize ?? 4 * patchSize;
  const rng = new Rng(seed);
  const rand = (shape: number[], std: number) =>
    tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal(0, std)), shape);
  const p: Params = new Map();
  const v = (name: string, t: tf.Tensor) => {
    const param = variable(name, t, false);
    t.dispose();
    p.set(name, param);
    return param;
  };
  const embed = v('patch_embed', rand([patchSize * patchSize * inChans, embedDim], 0.3));
  const cls = v('cls_token', rand([1, 1, embedDim], 1));
  const blocks = Array.from({ length: depth }, (_, i) => ({
    qkv: v(`blocks.${i}.qkv`, rand([embedDim, 3 * embedDim], 0.5)),
    proj: v(`blocks.${i}.proj`, rand([embedDim, embedDim], 0.3)),
  }));
  const headDim = embedDim / numHeads;

  const tokens = (x: tf.Tensor4D): tf.Tensor3D => {
    const [b, h, w, c] = x.shape;
    const gh = Math.floor(h / patchSize), gw = Math.floor(w / patchSize);
    const crop = tf.slice(x, [0, 0, 0, 0], [b, gh * patchSize, gw * patchSize, c]);
    const patches = tf.reshape(
      tf.transpose(tf.reshape(crop, [b, gh, patchSize, gw, patchSize, c]), [0, 1, 3, 2, 4, 5]),
      [b * gh * gw, patchSize * patchSize * c],
    );
    const emb = tf.reshape(tf.matMul(patches, embed), [b, gh * gw, embedDim]);
    // A fixed sinusoidal position code so patches differ by place as well as content.
    const pos = tf.tensor2d(
      Float32Array.from({ length: gh * gw * embedDim }, (_, i) => 0.1 * Math.sin((Math.floor(i / embedDim) + 1) * ((i % embedDim) + 1))),
      [gh * gw, embedDim],
    );
    return tf.concat([tf.tile(cls, [b, 1, 1]), tf.add(emb, pos)], 1) as tf.Tensor3D;
  };
  const attention = (x: tf.Tensor3D, blk: (typeof blocks)[number]) => {
    const [b, n] = x.shape;
    const qkv = tf.transpose(tf.reshape(tf.matMul(tf.reshape(x, [b * n, embedDim]), blk.qkv), [b, n, 3, numHeads, headDim]), [2, 0, 3, 1, 4]);
    const [q, k, val] = tf.unstack(qkv, 0) as tf.Tensor4D[];
    const attn = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim))) as tf.Tensor4D;
    const out = tf.reshape(tf.transpose(tf.matMul(attn, val), [0, 2, 1, 3]), [b * n, embedDim]);
    return { attn, y: tf.add(x, tf.reshape(tf.matMul(out, blk.proj), [b, n, embedDim])) as tf.Tensor3D };
  };
  const norm = (x: tf.Tensor3D): tf.Tensor3D => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-6))) as tf.Tensor3D;
  };
  const run = (x: tf.Tensor4D): { outs: tf.Tensor3D[]; lastAttn: tf.Tensor4D } => {
    let t = tokens(x);
    const outs: tf.Tensor3D[] = [];
    let lastAttn!: tf.Tensor4D;
    for (const blk of blocks) {
      const r = attention(t, blk);
      t = r.y;
      lastAttn = r.attn;
      outs.push(t);
    }
    return { outs, lastAttn };
  };
  const cls0 = (x: tf.Tensor3D) => tf.reshape(tf.slice(x, [0, 0, 0], [x.shape[0], 1, embedDim]), [x.shape[0], embedDim]) as tf.Tensor2D;

  return {
    name: 'tiny',
    embedDim,
    patchSize,
    inChans,
    imgSize: [imgSize, imgSize],
    depth,
    forward: (x) => tf.tidy(() => cls0(norm(run(x).outs[depth - 1]))),
    forwardFeatures: (x): BackboneFeatures =>
      tf.tidy(() => {
        const y = norm(run(x).outs[depth - 1]);
        const [b, n] = y.shape;
        return { cls: cls0(y), patchTokens: tf.slice(y, [0, 1, 0], [b, n - 1, embedDim]) as tf.Tensor3D };
      }),
    getIntermediateLayers: (x, n = 1) => tf.tidy(() => run(x).outs.slice(depth - n).map(norm)),
    getLastSelfAttention: (x) => tf.tidy(() => run(x).lastAttn),
    params: () => p,
    dispose: () => p.forEach((t) => t.dispose()),
  };
}

/** The int32 data of a fixture tensor. */
export function ints(tensors: Record<string, { data: ArrayLike<unknown> | BigInt64Array }>, key: string): Int32Array {
  const t = tensors[key];
  if (!t) throw new Error(`fixture has no tensor "${key}"`);
  if (!(t.data instanceof Int32Array)) throw new Error(`fixture tensor "${key}" is not int32`);
  return t.data;
}
