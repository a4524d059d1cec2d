/**
 * One entry point for every file DINO weights come in: detect the format, find the backbone
 * (and head) inside, map its names to the reference's, and infer the ViT it belongs to.
 */
import { DataError, decodeSafetensors, loadParams, type NamedArray } from '@dino-ts/core';
import { VIT_PRESETS, VisionTransformer, type VitConfig } from '@dino-ts/backbones';
import { inferVitArchitecture, type VitArchitecture } from './arch';
import { toReferenceNames, type WeightsNaming } from './names';
import { readPth, type ReadPthOptions } from './pth';
import { dictEntries, isNamedArray, isPlainObject, type PickleValue } from './values';
import { isZip } from './zip';

export type WeightsFormat = 'pth' | 'pth-legacy' | 'safetensors';

/** Which network of a training checkpoint to take. */
export type CheckpointKey = 'teacher' | 'student';

export interface ReadWeightsOptions extends Pick<ReadPthOptions, 'maxTotalBytes' | 'maxRatio'> {
  /**
   * In a training checkpoint (reference `student` / `teacher`, or a dino-ts run): which network.
   * Default 'teacher', the one DINO evaluates. Naming one in a file without it is a DataError.
   */
  key?: CheckpointKey;
  /** Attention heads; default from the file's metadata, else embedDim / 64 (published models). */
  numHeads?: number;
  /** For non-square position embeddings: the [height, width] they were built for. */
  imgSize?: number | [number, number];
  /** Names the file in error messages (e.g. its path). */
  source?: string;
}

/** Where the number of attention heads came from. */
export type NumHeadsSource = 'option' | 'metadata' | 'default';

export interface WeightsFile {
  format: WeightsFormat;
  naming: WeightsNaming;
  /** The checkpoint key read ('teacher' / 'student'), for training checkpoints. */
  key?: CheckpointKey;
  /**
   * The ViT the backbone's tensors describe; undefined when they are not a reference ViT (e.g. a
   * ResNet), with `archError` saying why.
   */
  arch?: VitArchitecture;
  archError?: string;
  numHeadsFrom?: NumHeadsSource;
  /** The backbone under reference names (`cls_token`, `blocks.0.attn.qkv.weight`, ...). */
  backbone: Record<string, NamedArray>;
  /** The DINO head under reference names (`mlp.0.weight`, `last_layer.weight_v`), if present. */
  head?: Record<string, NamedArray>;
  /** Tensor names of the selected state dict that are neither backbone nor head. */
  ignored: string[];
  /**
   * What else the file says: a training checkpoint's `epoch` and `args` (its argparse.Namespace
   * as an object), a safetensors file's string metadata.
   */
  metadata: Record<string, PickleValue>;
}

/**
 * Reads DINO weights from the bytes of a file: a PyTorch `.pth` (zip or legacy format), or
 * safetensors. Published backbone state dicts, reference training checkpoints (main_dino.py's
 * `student` / `teacher`, DDP `module.` names), dino-ts run checkpoints and Hugging Face ViT
 * names are recognised and mapped to the reference ViT's names. Browser-safe: pass the bytes
 * (`new Uint8Array(await file.arrayBuffer())`, `readFileSync(path)`).
 */
export function readWeights(bytes: Uint8Array, opts: ReadWeightsOptions = {}): WeightsFile {
  const source = opts.source ?? 'weights';
  if (!(bytes instanceof Uint8Array)) throw new DataError(`${source}: expected the file's bytes as a Uint8Array, got ${typeof bytes}`, source);
  let format: WeightsFormat;
  let tensors: Record<string, NamedArray>;
  let metadata: Record<string, PickleValue> = {};
  let naming: WeightsNaming = 'reference';
  let key: CheckpointKey | undefined;

  if (isSafetensors(bytes)) {
    format = 'safetensors';
    const decoded = decodeSafetensors(bytes, source);
    metadata = { ...decoded.metadata };
    tensors = decoded.tensors;
    const names = Object.keys(tensors);
    if (names.some((n) => n.startsWith('teacher.') || n.startsWith('student.'))) {
      naming = 'dino-ts';
      key = opts.key ?? 'teacher';
      const prefix = `${key}.`;
      const picked: Record<string, NamedArray> = {};
      for (const n of names) if (n.startsWith(prefix)) Object.defineProperty(picked, n.slice(prefix.length), { value: tensors[n], enumerable: true, configurable: true, writable: true });
      if (Object.keys(picked).length === 0) throw new DataError(`${source}: the checkpoint has no "${key}" tensors (its prefixes: ${prefixes(names)})`, source);
      tensors = picked;
    } else if (opts.key) {
      throw new DataError(`${source}: key "${opts.key}" was asked for, but the file is a single state dict (no teacher/student)`, source);
    }
  } else if (isZip(bytes) || bytes[0] === 0x80 || isTarLike(bytes)) {
    const pth = readPth(bytes, { source, maxTotalBytes: opts.maxTotalBytes, maxRatio: opts.maxRatio });
    format = pth.format === 'zip' ? 'pth' : 'pth-legacy';
    const found = findStateDict(pth.value, opts.key, source);
    tensors = found.tensors;
    metadata = found.metadata;
    key = found.key;
    if (key) naming = 'reference-checkpoint';
  } else {
    throw new DataError(`${source}: not a .pth (zip or legacy torch format) or safetensors file`, source);
  }

  const mapped = toReferenceNames(tensors);
  if (mapped.huggingface) naming = 'huggingface';
  const out: WeightsFile = { format, naming, backbone: mapped.backbone, ignored: mapped.ignored, metadata };
  if (key) out.key = key;
  if (mapped.head) out.head = mapped.head;

  let numHeads = opts.numHeads;
  let numHeadsFrom: NumHeadsSource = 'option';
  if (numHeads === undefined) {
    numHeads = numHeadsFromMetadata(metadata, mapped.backbone.cls_token?.shape[2]);
    numHeadsFrom = numHeads === undefined ? 'default' : 'metadata';
  }
  try {
    out.arch = inferVitArchitecture(mapped.backbone, { numHeads, imgSize: opts.imgSize, source });
    out.numHeadsFrom = numHeadsFrom;
  } catch (e) {
    // A file that is not a ViT still reads (to convert it, say); loading it as one fails then.
    if (!(e instanceof DataError)) throw e;
    out.archError = e.message;
  }
  return out;
}

export interface LoadVitOptions extends ReadWeightsOptions {
  /** ViT options beyond the shapes (dropPathRate, seed, custom parts); shape fields override the file's. */
  config?: Partial<VitConfig>;
  /** The network's name (error messages); default 'vit'. */
  name?: string;
}

/**
 * A @dino-ts/backbones `VisionTransformer` built for the weights and holding them, every tensor
 * loaded strictly: a missing, unexpected, wrongly shaped or non-float tensor is a DataError
 * listing them. `input` is a file's bytes or `readWeights`' result. The caller owns the model
 * (`vit.dispose()`).
 */
export function loadVisionTransformer(input: Uint8Array | WeightsFile, opts: LoadVitOptions = {}): VisionTransformer {
  const source = opts.source ?? 'weights';
  const file = input instanceof Uint8Array ? readWeights(input, opts) : input;
  let arch = file.arch;
  if (!arch || opts.numHeads !== undefined || opts.imgSize !== undefined) {
    arch = inferVitArchitecture(file.backbone, { numHeads: opts.numHeads ?? file.arch?.numHeads, imgSize: opts.imgSize ?? file.arch?.imgSize, source });
  }
  const vit = new VisionTransformer({ ...arch, ...opts.config }, opts.name);
  try {
    checkStrict(vit, file.backbone, source);
    loadParams(vit.params(), file.backbone, { source });
  } catch (e) {
    vit.dispose();
    throw e;
  }
  return vit;
}

/** Every mismatch between a model's parameters and the arrays, in one DataError. */
function checkStrict(vit: VisionTransformer, arrays: Record<string, NamedArray>, source: string): void {
  const params = vit.params();
  const has = (k: string) => Object.prototype.hasOwnProperty.call(arrays, k);
  const missing = [...params.keys()].filter((k) => !has(k));
  const unexpected = Object.keys(arrays).filter((k) => !params.has(k));
  const wrong: string[] = [];
  for (const [k, v] of params) {
    const a = arrays[k];
    if (!has(k)) continue;
    if (a.shape.length !== v.shape.length || a.shape.some((d, i) => d !== v.shape[i])) wrong.push(`${k} [${a.shape}] (model [${v.shape}])`);
    else if (a.dtype !== 'F32' && a.dtype !== 'F64') wrong.push(`${k} is ${a.dtype} (model float32)`);
  }
  if (missing.length + unexpected.length + wrong.length === 0) return;
  const c = vit.config;
  const parts = [
    missing.length ? `missing ${list(missing)}` : '',
    unexpected.length ? `unexpected ${list(unexpected)}` : '',
    wrong.length ? `wrong shape or dtype ${list(wrong)}` : '',
  ].filter(Boolean);
  throw new DataError(
    `${source}: the weights do not fit a ViT (embedDim ${c.embedDim}, depth ${c.depth}, patch ${c.patchSize}, image ${c.imgSize.join('x')}): ${parts.join('; ')}`,
    source,
  );
}

function list(items: string[]): string {
  return items.length > 8 ? `${items.slice(0, 8).join(', ')} (+${items.length - 8} more)` : items.join(', ');
}

// ---- format detection and state-dict discovery ----------------------------------------------------

function isSafetensors(b: Uint8Array): boolean {
  if (b.length < 10) return false;
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
  return n > 1n && n <= BigInt(b.length - 8) && b[8] === 0x7b; // '{'
}

function isTarLike(b: Uint8Array): boolean {
  return b.length > 262 && b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
}

/** Wrappers other trainers put a state dict under. */
const WRAPPERS = ['state_dict', 'model', 'model_state_dict'];

/**
 * The state dict inside an unpickled `.pth`: the file itself when it maps names to tensors, a
 * training checkpoint's `teacher` (or `student`), or a common wrapper key.
 */
function findStateDict(value: PickleValue, key: CheckpointKey | undefined, source: string): { tensors: Record<string, NamedArray>; metadata: Record<string, PickleValue>; key?: CheckpointKey } {
  const top = dictEntries(value);
  if (!top) throw new DataError(`${source}: the file holds ${kind(value)}, not a state dict or checkpoint`, source);
  const byKey = new Map(top);
  const metadata: Record<string, PickleValue> = {};
  for (const [k, v] of top) if (typeof k === 'string' && !containsTensor(v)) metadata[k] = v;

  const tensorDict = (v: PickleValue | undefined) => {
    const entries = dictEntries(v);
    return entries && entries.some(([, x]) => isNamedArray(x)) ? entries : undefined;
  };
  const topKeys = () => top.map(([k]) => String(k)).slice(0, 12).join(', ');

  if (key !== undefined) {
    const entries = tensorDict(byKey.get(key));
    if (!entries) throw new DataError(`${source}: no "${key}" state dict in the file (its keys: ${topKeys()})`, source);
    return { tensors: toRecord(entries), metadata, key };
  }
  const teacher = tensorDict(byKey.get('teacher'));
  if (teacher) return { tensors: toRecord(teacher), metadata, key: 'teacher' };
  if (top.some(([, v]) => isNamedArray(v))) return { tensors: toRecord(top), metadata: {} };
  for (const w of WRAPPERS) {
    const entries = tensorDict(byKey.get(w));
    if (entries) return { tensors: toRecord(entries), metadata };
  }
  const student = tensorDict(byKey.get('student'));
  if (student) return { tensors: toRecord(student), metadata, key: 'student' };
  throw new DataError(`${source}: no state dict of tensors found (its keys: ${topKeys()})`, source);
}

/** The tensors of a state dict (non-tensor entries, which state dicts do not have, are skipped). */
function toRecord(entries: Array<[unknown, PickleValue]>): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [k, v] of entries) {
    if (isNamedArray(v)) Object.defineProperty(out, String(k), { value: v, enumerable: true, configurable: true, writable: true });
  }
  return out;
}

function containsTensor(v: PickleValue, seen = new Set<unknown>()): boolean {
  if (isNamedArray(v)) return true;
  if (typeof v !== 'object' || v === null || seen.has(v)) return false;
  seen.add(v);
  const entries = dictEntries(v);
  if (entries) return entries.some(([, x]) => containsTensor(x, seen));
  if (Array.isArray(v)) return v.some((x) => containsTensor(x, seen));
  return false;
}

function kind(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (isNamedArray(v)) return 'a single tensor';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function prefixes(names: string[]): string {
  return [...new Set(names.map((n) => n.split('.')[0]))].slice(0, 8).join(', ');
}

/**
 * The number of heads a file states: a dino-ts run's config (metadata `config`, JSON), or a
 * reference checkpoint's `args.arch` naming a preset (vit_tiny / vit_small / vit_base).
 */
function numHeadsFromMetadata(metadata: Record<string, PickleValue>, embedDim: number | undefined): number | undefined {
  // A preset name counts only when the weights have its width: a script may leave the default
  // `--arch` in its args and build another model.
  const presetHeads = (arch: unknown) => {
    if (typeof arch !== 'string' || !Object.prototype.hasOwnProperty.call(VIT_PRESETS, arch)) return undefined;
    const preset = VIT_PRESETS[arch as keyof typeof VIT_PRESETS];
    return preset.embedDim === embedDim ? preset.numHeads : undefined;
  };
  const config = metadata.config;
  if (typeof config === 'string') {
    try {
      const parsed = JSON.parse(config) as { backbone?: { arch?: unknown; options?: { numHeads?: unknown } } };
      const n = parsed?.backbone?.options?.numHeads;
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) return n;
      const p = presetHeads(parsed?.backbone?.arch);
      if (p !== undefined) return p;
    } catch {
      // Not JSON: metadata from another writer; fall through to the default.
    }
  }
  // args: an argparse.Namespace read as an object, or a dict when a writer stored it as one.
  const args = metadata.args;
  if (isPlainObject(args)) return presetHeads(args.arch);
  if (args instanceof Map) return presetHeads(args.get('arch'));
  return undefined;
}
