/**
 * State-dict names: the reference ViT's (`blocks.0.attn.qkv.weight`, what dino-ts uses) and the
 * other names the same weights are published under, mapped onto them.
 *
 * - Reference training checkpoints (main_dino.py): `student` / `teacher` are MultiCropWrapper
 *   state dicts, `backbone.*` and `head.*`, the student's under DDP's `module.` prefix.
 * - dino-ts run checkpoints (safetensors): `student.backbone.*`, `teacher.head.*`, ...
 * - Hugging Face `ViTModel` (facebook/dino-vits16, ...): `embeddings.*`, `encoder.layer.N.*`,
 *   with separate query / key / value projections that the reference holds as one `qkv`.
 */
import { ConfigError, DataError, type NamedArray } from '@dino-ts/core';

/** Which naming a file used. */
export type WeightsNaming = 'reference' | 'reference-checkpoint' | 'dino-ts' | 'huggingface';

/** A backbone (and head) under reference names, and the names that were left out. */
export interface MappedWeights {
  backbone: Record<string, NamedArray>;
  head?: Record<string, NamedArray>;
  /** Names of the input that belong to neither (a pooler, a classifier, ...). */
  ignored: string[];
}

function define(rec: Record<string, NamedArray>, k: string, v: NamedArray): void {
  // defineProperty: names come from files, and "__proto__" must stay a name.
  Object.defineProperty(rec, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Whether the names are Hugging Face ViTModel names (with or without the `vit.` prefix). */
export function isHuggingFaceNaming(names: string[]): boolean {
  return names.some((n) => /^(vit\.)?embeddings\.(cls_token|position_embeddings|patch_embeddings\.)/.test(n) || /^(vit\.)?encoder\.layer\.\d+\./.test(n));
}

/**
 * Splits a state dict into backbone and head under the reference's names: strips DDP's
 * `module.` and the MultiCropWrapper's `backbone.`, keeps `head.*` as the head, and maps Hugging
 * Face ViT names onto the reference's.
 */
export function toReferenceNames(tensors: Record<string, NamedArray>): MappedWeights & { huggingface: boolean } {
  let names = Object.keys(tensors);
  const strip = (prefix: string) => {
    if (!names.some((n) => n.startsWith(prefix))) return;
    const out: Record<string, NamedArray> = {};
    for (const n of names) define(out, n.startsWith(prefix) ? n.slice(prefix.length) : n, tensors[n]);
    tensors = out;
    names = Object.keys(out);
  };
  strip('module.');
  if (isHuggingFaceNaming(names)) return { ...fromHuggingFaceNames(tensors), huggingface: true };

  const backbone: Record<string, NamedArray> = {};
  const head: Record<string, NamedArray> = {};
  const ignored: string[] = [];
  const wrapped = names.some((n) => n.startsWith('backbone.'));
  for (const n of names) {
    if (n.startsWith('head.')) define(head, n.slice(5), tensors[n]);
    else if (wrapped) {
      if (n.startsWith('backbone.')) define(backbone, n.slice(9), tensors[n]);
      else ignored.push(n);
    } else define(backbone, n, tensors[n]);
  }
  return { backbone, head: Object.keys(head).length ? head : undefined, ignored, huggingface: false };
}

const HF_LAYER = /^encoder\.layer\.(\d+)\.(.+)$/;

/** Per-layer HF names -> reference names (query/key/value are gathered into qkv separately). */
const HF_BLOCK: Record<string, string> = {
  'attention.output.dense.weight': 'attn.proj.weight',
  'attention.output.dense.bias': 'attn.proj.bias',
  'layernorm_before.weight': 'norm1.weight',
  'layernorm_before.bias': 'norm1.bias',
  'layernorm_after.weight': 'norm2.weight',
  'layernorm_after.bias': 'norm2.bias',
  'intermediate.dense.weight': 'mlp.fc1.weight',
  'intermediate.dense.bias': 'mlp.fc1.bias',
  'output.dense.weight': 'mlp.fc2.weight',
  'output.dense.bias': 'mlp.fc2.bias',
};

const HF_TOP: Record<string, string> = {
  'embeddings.cls_token': 'cls_token',
  'embeddings.position_embeddings': 'pos_embed',
  'embeddings.patch_embeddings.projection.weight': 'patch_embed.proj.weight',
  'embeddings.patch_embeddings.projection.bias': 'patch_embed.proj.bias',
  'layernorm.weight': 'norm.weight',
  'layernorm.bias': 'norm.bias',
};

/**
 * Hugging Face `ViTModel` / `ViTForImageClassification` names -> the reference's. Query, key and
 * value of each layer are concatenated (in that order, along the output dimension) into
 * `blocks.N.attn.qkv`; `pooler.*`, `classifier.*` and `embeddings.mask_token` are ignored.
 * A name it does not know is kept as it is, so a strict load reports it.
 */
export function fromHuggingFaceNames(tensors: Record<string, NamedArray>): MappedWeights {
  const backbone: Record<string, NamedArray> = {};
  const ignored: string[] = [];
  const qkv = new Map<string, Partial<Record<'query' | 'key' | 'value', [string, NamedArray]>>>();
  for (const original of Object.keys(tensors)) {
    const n = original.startsWith('vit.') ? original.slice(4) : original;
    const a = tensors[original];
    if (/^(pooler|classifier)\./.test(original) || /^(pooler|classifier)\./.test(n) || n === 'embeddings.mask_token') {
      ignored.push(original);
      continue;
    }
    if (HF_TOP[n]) {
      define(backbone, HF_TOP[n], a);
      continue;
    }
    const m = HF_LAYER.exec(n);
    if (m) {
      const [, layer, rest] = m;
      const proj = /^attention\.attention\.(query|key|value)\.(weight|bias)$/.exec(rest);
      if (proj) {
        const slot = `blocks.${layer}.attn.qkv.${proj[2]}`;
        const parts = qkv.get(slot) ?? {};
        parts[proj[1] as 'query' | 'key' | 'value'] = [original, a];
        qkv.set(slot, parts);
        continue;
      }
      if (HF_BLOCK[rest]) {
        define(backbone, `blocks.${layer}.${HF_BLOCK[rest]}`, a);
        continue;
      }
    }
    define(backbone, original, a);
  }
  for (const [slot, parts] of qkv) {
    const { query, key, value } = parts;
    if (!query || !key || !value) {
      // Incomplete: keep what there is under its own name; the strict load names both sides.
      for (const p of [query, key, value]) if (p) define(backbone, p[0], p[1]);
      continue;
    }
    define(backbone, slot, concatRows([query, key, value], slot));
  }
  return { backbone, ignored };
}

/**
 * Reference names -> Hugging Face `ViTModel` names (`qkv` split into query, key, value), with
 * `prefix` (e.g. 'vit.' for ViTForImageClassification) in front of each.
 */
export function toHuggingFaceNames(backbone: Record<string, NamedArray>, prefix = ''): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  const top = Object.fromEntries(Object.entries(HF_TOP).map(([hf, ref]) => [ref, hf]));
  const block = Object.fromEntries(Object.entries(HF_BLOCK).map(([hf, ref]) => [ref, hf]));
  for (const [n, a] of Object.entries(backbone)) {
    if (top[n]) {
      define(out, prefix + top[n], a);
      continue;
    }
    const m = /^blocks\.(\d+)\.(.+)$/.exec(n);
    if (m && m[2].startsWith('attn.qkv.')) {
      const kind = m[2].slice('attn.qkv.'.length);
      const [q, k, v] = splitRows(a, 3, n);
      for (const [part, arr] of [['query', q], ['key', k], ['value', v]] as const) {
        define(out, `${prefix}encoder.layer.${m[1]}.attention.attention.${part}.${kind}`, arr);
      }
      continue;
    }
    if (m && block[m[2]]) {
      define(out, `${prefix}encoder.layer.${m[1]}.${block[m[2]]}`, a);
      continue;
    }
    throw new ConfigError('name', n, 'has no Hugging Face ViT equivalent (expected reference ViT names)');
  }
  return out;
}

/** Concatenates arrays of one dtype along their first dimension. */
function concatRows(parts: Array<[string, NamedArray]>, slot: string): NamedArray {
  const [[, first]] = parts;
  const rest = first.shape.slice(1);
  for (const [name, p] of parts) {
    if (p.dtype !== first.dtype || p.shape.length !== first.shape.length || p.shape.slice(1).some((d, i) => d !== rest[i])) {
      throw new DataError(`cannot build ${slot}: ${name} is ${p.dtype} [${p.shape}] but ${parts[0][0]} is ${first.dtype} [${first.shape}]`);
    }
  }
  const total = parts.reduce((s, [, p]) => s + p.data.length, 0);
  const Ctor = first.data.constructor as new (n: number) => NamedArray['data'];
  const data = new Ctor(total);
  let at = 0;
  for (const [, p] of parts) {
    (data as Float32Array).set(p.data as Float32Array, at);
    at += p.data.length;
  }
  const out: NamedArray = { dtype: first.dtype, shape: [parts.reduce((s, [, p]) => s + p.shape[0], 0), ...rest], data };
  if (parts.every(([, p]) => p.sourceDtype === first.sourceDtype) && first.sourceDtype) out.sourceDtype = first.sourceDtype;
  return out;
}

/** Splits an array into `n` equal parts along its first dimension. */
function splitRows(a: NamedArray, n: number, name: string): NamedArray[] {
  if (a.shape.length < 1 || a.shape[0] % n !== 0) throw new ConfigError(name, `shape [${a.shape}]`, `must have a first dimension divisible by ${n}`);
  const rows = a.shape[0] / n;
  const size = a.data.length / n;
  return Array.from({ length: n }, (_, i) => {
    const part: NamedArray = { dtype: a.dtype, shape: [rows, ...a.shape.slice(1)], data: a.data.slice(i * size, (i + 1) * size) as NamedArray['data'] };
    if (a.sourceDtype) part.sourceDtype = a.sourceDtype;
    return part;
  });
}

