/**
 * PyTorch's `torch.save` files, read and written without Python.
 *
 * - Zip format (the default since PyTorch 1.6): `<name>/data.pkl` (the pickled object, whose
 *   tensors reference storages by key), `<name>/data/<key>` (each storage's raw bytes),
 *   `<name>/version`, and since 2.1 `<name>/byteorder`.
 * - Legacy format (`_use_new_zipfile_serialization=False`, and every file before 1.6): five
 *   pickles in a row (magic number, protocol version, system info, the object, the sorted storage
 *   keys), then each storage as an 8-byte element count and its bytes.
 */
import { ConfigError, DataError, type NamedArray } from '@dino-ts/core';
import { unpickleAt, storageTypeOf } from './pickle';
import { pickleValue } from './pickler';
import { STORAGE_TYPES, TensorBuilder, type Storage } from './storage';
import { PickleTuple, type PickleValue } from './values';
import { ZipReader, isZip, writeZip, type ZipLimits } from './zip';

/** The magic number that starts a legacy torch file (its first pickle). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export interface ReadPthOptions extends ZipLimits {
  /** Names the file in error messages. Default 'pth file'. */
  source?: string;
}

export interface PthFile {
  /** The object `torch.save` was given (dicts are Maps; see PickleValue). */
  value: PickleValue;
  /** 'zip' (torch.save's default) or 'legacy'. */
  format: 'zip' | 'legacy';
}

/** Whether `bytes` starts like a legacy torch file (a protocol-2 pickle of the magic number). */
export function isLegacyPth(bytes: Uint8Array): boolean {
  // PROTO 2, LONG1 10 bytes, then the magic number's bytes (little-endian).
  return bytes.length > 13 && bytes[0] === 0x80 && bytes[2] === 0x8a && bytes[3] === 10 && bytes[4] === 0x6c && bytes[5] === 0xfc;
}

/**
 * Reads a `.pth` / `.pt` file written by `torch.save` (zip or legacy format) into plain values:
 * tensors become NamedArrays (half and bfloat16 widened to F32, `sourceDtype` recording the
 * file's dtype), dicts become Maps, an `argparse.Namespace` a plain object. Nothing is executed:
 * only an allow-list of globals is accepted, anything else is a DataError naming it.
 */
export function readPth(bytes: Uint8Array, opts: ReadPthOptions = {}): PthFile {
  const source = opts.source ?? 'pth file';
  if (isZip(bytes)) return { value: readZipPth(bytes, source, opts), format: 'zip' };
  if (isLegacyPth(bytes)) return { value: readLegacyPth(bytes, source), format: 'legacy' };
  if (isTar(bytes)) {
    throw new DataError(`${source}: a tar-format torch file (PyTorch before 0.4); load it in Python and re-save it with torch.save's default settings`, source);
  }
  throw new DataError(`${source}: not a PyTorch file (neither a torch.save zip archive nor the legacy format)`, source);
}

function isTar(bytes: Uint8Array): boolean {
  return bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar';
}

function readZipPth(bytes: Uint8Array, source: string, limits: ZipLimits): PickleValue {
  const zip = new ZipReader(bytes, source, limits);
  const pkl = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
  if (pkl.length === 0) {
    const torchscript = [...zip.entries.keys()].some((n) => /(^|\/)constants\.pkl$/.test(n));
    throw new DataError(
      torchscript
        ? `${source}: a TorchScript archive (torch.jit.save), not a torch.save file; load it in Python and save its state_dict()`
        : `${source}: a zip archive without data.pkl: not a torch.save file`,
      source,
    );
  }
  if (pkl.length > 1) throw new DataError(`${source}: the archive holds ${pkl.length} pickles (${pkl.join(', ')}); torch.save writes one`, source);
  const prefix = pkl[0].slice(0, -'data.pkl'.length);
  let littleEndian = true;
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (order !== 'little' && order !== 'big') throw new DataError(`${source}: byteorder "${order.slice(0, 20)}" is neither little nor big`, source);
    littleEndian = order === 'little';
  }
  const tensors = new TensorBuilder(source);
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: PickleValue): Storage => {
    // ('storage', torch.<Type>Storage, key, location, numel)
    const items = pid instanceof PickleTuple ? pid.items : undefined;
    const type = items && storageTypeOf(items[1]);
    if (!items || items[0] !== 'storage' || !type || typeof items[2] !== 'string' || typeof items[4] !== 'number') {
      throw new DataError(`${source}: a persistent id that is not a storage reference: refused`, source);
    }
    const key = items[2];
    const numel = items[4];
    const known = storages.get(key);
    if (known) {
      if (known.type !== type) throw new DataError(`${source}: storage "${key}" is referenced as ${known.type} and as ${type}`, source);
      return known;
    }
    const name = `${prefix}data/${key}`;
    if (!zip.entries.has(name)) throw new DataError(`${source}: storage "${key}" is referenced but the archive has no ${name}`, source);
    const data = zip.read(name);
    const need = numel * STORAGE_TYPES[type].bytes;
    if (data.length < need) throw new DataError(`${source}: storage "${key}" holds ${data.length} bytes but ${numel} ${type} elements need ${need}`, source);
    const s: Storage = { type, key, numel, bytes: data.subarray(0, need) };
    storages.set(key, s);
    return s;
  };
  const { value } = unpickleAt(zip.read(pkl[0]), { source, persistentLoad, tensors });
  tensors.fill(littleEndian);
  return value;
}

function readLegacyPth(bytes: Uint8Array, source: string): PickleValue {
  let pos = 0;
  const next = (what: string, extra: Parameters<typeof unpickleAt>[1] = {}): PickleValue => {
    try {
      const r = unpickleAt(bytes, { source, offset: pos, ...extra });
      pos = r.end;
      return r.value;
    } catch (e) {
      if (e instanceof DataError) throw new DataError(`${e.message} (in the legacy file's ${what})`, source);
      throw e;
    }
  };
  const magic = next('magic number');
  if (magic !== LEGACY_MAGIC) throw new DataError(`${source}: not a legacy torch file (bad magic number)`, source);
  const protocol = next('protocol version');
  if (protocol !== LEGACY_PROTOCOL) throw new DataError(`${source}: legacy torch protocol ${String(protocol)} is not supported (expected ${LEGACY_PROTOCOL})`, source);
  const sysInfo = next('system info');
  const little = sysInfo instanceof Map ? sysInfo.get('little_endian') !== false : true;

  const tensors = new TensorBuilder(source);
  const roots = new Map<string, Storage>();
  const persistentLoad = (pid: PickleValue): Storage => {
    // ('storage', torch.<Type>Storage, root_key, location, root_numel, view_metadata)
    const items = pid instanceof PickleTuple ? pid.items : undefined;
    const type = items && storageTypeOf(items[1]);
    if (!items || items[0] !== 'storage' || !type || typeof items[2] !== 'string' || typeof items[4] !== 'number') {
      throw new DataError(`${source}: a persistent id that is not a storage reference (${items ? String(items[0]) : 'not a tuple'}): refused`, source);
    }
    const key = items[2];
    let root = roots.get(key);
    if (!root) {
      root = { type, key, numel: items[4] };
      roots.set(key, root);
    }
    const view = items[5];
    if (view instanceof PickleTuple) {
      // (view_key, offset, view_size): part of the root storage (PyTorch < 1.0 storage views).
      const [viewKey, offset, size] = view.items;
      if (typeof viewKey !== 'string' || typeof offset !== 'number' || typeof size !== 'number') throw new DataError(`${source}: a malformed storage view`, source);
      return { type, key: viewKey, numel: size, view: { base: root, offset } };
    }
    return root;
  };
  const value = next('object', { persistentLoad, tensors });
  const keys = next('storage keys');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new DataError(`${source}: the legacy storage key list is malformed`, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    const s = roots.get(key);
    if (!s) throw new DataError(`${source}: storage "${key}" is stored but never referenced`, source);
    if (pos + 8 > bytes.length) throw new DataError(`${source}: the file is truncated (storage "${key}" is missing)`, source);
    const n = Number(view.getBigInt64(pos, little));
    const len = n * STORAGE_TYPES[s.type].bytes;
    if (n !== s.numel || pos + 8 + len > bytes.length) {
      throw new DataError(`${source}: storage "${key}" declares ${n} elements (expected ${s.numel}) with ${bytes.length - pos - 8} bytes left: the file is truncated or corrupt`, source);
    }
    s.bytes = bytes.subarray(pos + 8, pos + 8 + len);
    pos += 8 + len;
  }
  for (const s of roots.values()) if (!s.bytes) throw new DataError(`${source}: storage "${s.key}" is referenced but not stored: the file is truncated`, source);
  tensors.fill(little);
  return value;
}

// ---- writing -------------------------------------------------------------------------------------

/** How an F32 tensor is stored in a written file. */
export type PthFloatDtype = 'F32' | 'F16' | 'BF16';

export interface WritePthOptions {
  /**
   * The archive's folder name inside the zip (torch uses the file's base name; any name loads).
   * Default 'archive'.
   */
  archiveName?: string;
  /**
   * How to store F32 tensors: 'F32' (default), 'F16' (HalfStorage) or 'BF16' (BFloat16Storage);
   * a function chooses per tensor (its path in the value, e.g. `teacher.blocks.0.attn.qkv.weight`).
   * Other dtypes are stored as they are.
   */
  floatDtype?: PthFloatDtype | ((path: string, array: NamedArray) => PthFloatDtype);
}

/**
 * Writes `value` as `torch.save` does (zip format, pickle protocol 2), for
 * `torch.load(f, weights_only=True)`: only allow-listed globals are used (`_rebuild_tensor_v2`,
 * the storage classes, `OrderedDict` for tensor hooks), plus plain dicts, lists, tuples, numbers,
 * strings, booleans and None. A flat `Record<string, NamedArray>` is a state dict that
 * `model.load_state_dict` takes; nested dicts make a training checkpoint (`{ student, teacher,
 * optimizer, epoch, ... }`). Tensors are stored contiguous; a NamedArray object that appears
 * twice is stored once and shared, as torch does.
 *
 * Floats are written with BINFLOAT, which `weights_only=True` reads from PyTorch 2.0 on
 * (PyTorch 1.13's weights-only reader lacks that opcode, for torch.save's own files too);
 * state dicts hold no floats, only tensors.
 */
export function writePth(value: PickleValue, opts: WritePthOptions = {}): Uint8Array {
  const archive = opts.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(archive) || /^\.+$/.test(archive)) {
    throw new ConfigError('archiveName', archive, 'must be a name of letters, digits, "_", "." or "-" (not only dots)');
  }
  const { pickle, storages } = pickleValue(value, { floatDtype: opts.floatDtype ?? 'F32' });
  const entries: Array<[string, Uint8Array]> = [[`${archive}/data.pkl`, pickle], [`${archive}/byteorder`, new TextEncoder().encode('little')]];
  for (const s of storages) entries.push([`${archive}/data/${s.key}`, s.bytes]);
  entries.push([`${archive}/version`, new TextEncoder().encode('3\n')]);
  return writeZip(entries);
}
