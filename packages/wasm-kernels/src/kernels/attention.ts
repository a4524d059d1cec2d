/**
 * Softmax (tfjs's kernel, over the last axis) and DinoAttention, a ViT block's attention for
 * inference, softmax(q k^T * scale) v per (batch, head) read from the projections in place
 * (csrc/attention.c). Both run the same row code, and the attention the same GEMM as
 * BatchMatMul, so the fused attention gives the bits of the composed ops on these kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { makeOutput, offsetOf } from '../wasm-backend';
import { moduleFor, runStock, type KernelArgs } from '../state';
import { parallelMin, splitRange, threadsFor } from '../split';
import { FUSED_KERNEL_NAMES, need, type Backend } from './fused-args';

/** Softmax over the last axis, whole rows per thread (any split gives the same bits). */
export function softmax(args: KernelArgs<{ logits: TensorInfo }, { dim: number }>): TensorInfo | TensorInfo[] {
  const { logits } = args.inputs;
  const mod = moduleFor(args.backend);
  const rank = logits.shape.length;
  const dim = args.attrs?.dim ?? -1;
  if (mod == null || logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) {
    return runStock(tf.Softmax, args);
  }
  const backend = args.backend as Backend;
  const n = logits.shape[rank - 1];
  const size = tf.util.sizeFromShape(logits.shape);
  const out = makeOutput(backend, logits.shape, 'float32');
  if (size > 0) {
    const rows = size / n;
    const px = offsetOf(backend, logits), py = offsetOf(backend, out);
    mod.parallel('softmax_f32', splitRange(rows, threadsFor(mod, size)).map(([r0, len]) => [px + 4 * r0 * n, py + 4 * r0 * n, len, n, 1]));
  }
  return out;
}

export interface AttentionAttrs {
  numHeads: number;
  /** Multiplies the scores before the softmax (head_dim^-0.5 in a ViT). */
  scale: number;
  /** First column of q in `q`'s last axis, and of k and v in `kv`'s. */
  qColumn: number;
  kColumn: number;
  vColumn: number;
  /** Width of q, k and v (heads x head_dim). */
  dim: number;
}

/**
 * DinoAttention: q [B, Q, Cq] and kv [B, N, Ckv] (the same tensor for a whole qkv projection),
 * output [B, Q, dim], head h of each token in columns h*hd .. (h+1)*hd.
 */
export function attention(args: KernelArgs<{ q: TensorInfo; kv: TensorInfo }, AttentionAttrs>): TensorInfo {
  const { q, kv } = args.inputs;
  const name = FUSED_KERNEL_NAMES.attention;
  const { mod, backend } = need(args.backend, name, [q, kv]);
  const a = args.attrs as AttentionAttrs;
  const { numHeads: heads, dim, qColumn, kColumn, vColumn, scale } = a;
  const hd = dim / heads;
  const bad = (why: string) => new Error(`wasm-kernels: ${name}: ${why} (q [${q.shape}], kv [${kv.shape}], dim ${dim}, ${heads} heads)`);
  if (q.shape.length !== 3 || kv.shape.length !== 3 || q.shape[0] !== kv.shape[0]) throw bad('needs q [B, Q, C] and kv [B, N, C] with the same B');
  if (!Number.isInteger(hd) || hd < 1) throw bad('heads must divide dim');
  const [b, nq, cq] = q.shape;
  const [, n, ckv] = kv.shape;
  if (qColumn < 0 || qColumn + dim > cq || kColumn < 0 || kColumn + dim > ckv || vColumn < 0 || vColumn + dim > ckv) {
    throw bad(`columns q ${qColumn}, k ${kColumn}, v ${vColumn} do not fit`);
  }
  const out = makeOutput(backend, [b, nq, dim], 'float32');
  const pairs = b * heads;
  // No keys (n = 0) runs through: empty scores, and a product over K = 0 writes zeros, as the
  // composed ops do.
  if (pairs === 0 || nq === 0) return out;
  // Each part takes whole (batch, head) pairs and its own scores buffer.
  const parts = splitRange(pairs, threadsFor(mod, 2 * pairs * nq * n * hd, parallelMin.macs));
  const scratch = makeOutput(backend, [parts.length, nq * n], 'float32');
  try {
    const pq = offsetOf(backend, q) + 4 * qColumn;
    const pkv = offsetOf(backend, kv);
    const ps = offsetOf(backend, scratch);
    mod.parallel('attention_f32', parts.map(([p0, len], i) => [
      pq, nq * cq, cq, pkv + 4 * kColumn, pkv + 4 * vColumn, n * ckv, ckv,
      offsetOf(backend, out), nq * dim, dim, nq, n, heads, hd, scale, p0, len,
      ps + 4 * i * nq * n, mod.partWorkspace(i),
    ]));
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}
