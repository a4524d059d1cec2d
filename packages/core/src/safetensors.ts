/**
 * The safetensors format (8-byte little-endian header length, a JSON header of
 * name -> {dtype, shape, data_offsets}, then raw little-endian tensor bytes). PyTorch, JAX and
 * this project all read it, so weights move between them under their reference names.
 *
 * Reading accepts what users actually meet: Node Buffers that are views into a shared pool, half
 * precision checkpoints (F16/BF16, widened to F32 so callers see one float type), and damaged
 * files, which get a DataError naming the file, the tensor and the problem instead of garbage
 * values or a RangeError from a typed-array constructor.
 *
 * Typed arrays use the host's byte order; every platform Node and browsers run on is
 * little-endian, like the format, so bytes are copied without swapping.
 */
import { ConfigError, DataError, ShapeError } from './errors';
import { bfloat16ToFloat32Array, float16ToFloat32Array, float32ToFloat16Array } from './float16';

/** The dtypes a NamedArray holds in memory (and is written as, unless F32 is stored as F16). */
export type SafeDtype = 'F32' | 'F64' | 'I8' | 'U8' | 'I16' | 'I32' | 'I64' | 'BOOL';

/** The dtypes a file may hold: the in-memory ones plus the half-precision floats. */
export type FileDtype = SafeDtype | 'F16' | 'BF16';

/** How an F32 tensor is stored on write. */
export type StoredFloatDtype = 'F32' | 'F16';

export interface NamedArray {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array | BigInt64Array;
  /**
   * Set by decodeSafetensors only when the file's dtype differs from `dtype`: 'F16' or 'BF16'
   * for half-precision tensors that were widened to F32. Ignored by encodeSafetensors.
   */
  sourceDtype?: FileDtype;
}

export interface EncodeOptions {
  /**
   * How to store F32 tensors: 'F32' (the default, lossless) or 'F16' (half the bytes; values
   * round to the nearest half, ties to even, magnitudes from 65520 up become infinity and tiny
   * ones subnormal or zero). A function chooses per tensor, e.g. keep norms exact with
   * `(name) => (name.includes('norm') ? 'F32' : 'F16')`, or restore what a file held with
   * `(_, a) => (a.sourceDtype === 'F16' ? 'F16' : 'F32')`. It is called for F32 tensors only;
   * tensors of other dtypes are stored as they are.
   */
  floatDtype?: StoredFloatDtype | ((name: string, array: NamedArray) => StoredFloatDtype);
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedArray>;
  metadata: Record<string, string>;
}

/** Bytes per element of every dtype in a file. */
const BYTES: Record<FileDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/**
 * The typed array each in-memory dtype must come in, by its Symbol.toStringTag (checked by tag so
 * arrays from other realms pass too). Shared with writers of other formats (@dino-ts/weights).
 */
export const DTYPE_ARRAY_TAG: Readonly<Record<SafeDtype, string>> = {
  F32: 'Float32Array',
  F64: 'Float64Array',
  I8: 'Int8Array',
  U8: 'Uint8Array',
  I16: 'Int16Array',
  I32: 'Int32Array',
  I64: 'BigInt64Array',
  BOOL: 'Uint8Array',
};

const METADATA_KEY = '__metadata__';

/**
 * Serialise named arrays (written in key order) with optional string metadata. With
 * `options.floatDtype` F32 tensors can be stored as F16; see EncodeOptions.
 */
export function encodeSafetensors(
  tensors: Record<string, NamedArray>,
  metadata?: Record<string, string>,
  options: EncodeOptions = {},
): Uint8Array {
  const { header, parts, byteLength } = encodeSafetensorsParts(tensors, metadata, options);
  const out = new Uint8Array(byteLength);
  out.set(header, 0);
  let pos = header.length;
  for (const bytes of parts) {
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

/** A safetensors file as the pieces written one after another: header, then each tensor's bytes. */
export interface SafetensorsParts {
  /** The 8-byte length, the JSON header and its padding. */
  header: Uint8Array;
  /** Each tensor's bytes in file order (views of the arrays' own memory where no conversion is needed). */
  parts: Uint8Array[];
  /** The whole file's length. */
  byteLength: number;
}

/**
 * The bytes of `encodeSafetensors` without joining them into one array, so a writer can stream
 * them to a file: a checkpoint near or over 2 GiB then needs no second copy of every tensor in
 * memory (and no array larger than the largest tensor). Same checks and options.
 */
export function encodeSafetensorsParts(
  tensors: Record<string, NamedArray>,
  metadata?: Record<string, string>,
  options: EncodeOptions = {},
): SafetensorsParts {
  const { floatDtype = 'F32' } = options;
  if (typeof floatDtype !== 'function') checkStoredFloat('floatDtype', floatDtype);
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      // The format only allows string values, and other readers reject anything else.
      if (typeof v !== 'string') throw new ConfigError(`metadata["${k}"]`, v, 'must be a string (safetensors metadata holds strings only)');
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const name of Object.keys(tensors)) {
    if (name === METADATA_KEY) throw new ConfigError('tensor name', name, 'is reserved for the metadata in safetensors');
    const t = tensors[name];
    checkArray(name, t);
    let stored: FileDtype = t.dtype;
    let bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (t.dtype === 'F32') {
      const want = typeof floatDtype === 'function' ? floatDtype(name, t) : floatDtype;
      checkStoredFloat(`floatDtype("${name}")`, want);
      if (want === 'F16') {
        stored = 'F16';
        const half = float32ToFloat16Array(t.data as Float32Array);
        bytes = new Uint8Array(half.buffer);
      }
    }
    // defineProperty, not assignment: a tensor named "__proto__" would otherwise set the
    // object's prototype and vanish from the header.
    Object.defineProperty(header, name, {
      value: { dtype: stored, shape: t.shape, data_offsets: [offset, offset + bytes.length] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    parts.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  // The padding is computed on the UTF-8 bytes: non-ASCII names make them longer than the string.
  const headerLen = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const head = new Uint8Array(8 + headerLen);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLen), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length, 8 + headerLen);
  return { header: head, parts, byteLength: 8 + headerLen + offset };
}

function checkStoredFloat(param: string, v: unknown): void {
  if (v !== 'F32' && v !== 'F16') throw new ConfigError(param, v, 'must be "F32" or "F16"');
}

/** Rejects arrays whose bytes would not mean what the header says (written files must load). */
function checkArray(name: string, t: NamedArray): void {
  if (!Object.prototype.hasOwnProperty.call(DTYPE_ARRAY_TAG, t.dtype)) {
    throw new ShapeError(`safetensors: "${name}" has dtype ${String(t.dtype)}; expected one of ${Object.keys(DTYPE_ARRAY_TAG).join(', ')}`);
  }
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
    throw new ShapeError(`safetensors: "${name}" has shape ${fmt(t.shape)}; expected an array of non-negative integers`);
  }
  const tag = ArrayBuffer.isView(t.data) ? (t.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : typeof t.data;
  if (tag !== DTYPE_ARRAY_TAG[t.dtype]) {
    throw new ShapeError(`safetensors: "${name}" is ${t.dtype} but its data is a ${tag}; ${t.dtype} needs a ${DTYPE_ARRAY_TAG[t.dtype]}`);
  }
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new ShapeError(`safetensors: "${name}" has ${t.data.length} values but shape [${t.shape}] needs ${size}`);
  }
}

/** A validated header entry: where one tensor's bytes lie, relative to the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: FileDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated safetensors header: the tensors' places and the metadata. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + the header's length). */
  dataStart: number;
}

/**
 * Largest JSON header accepted, in bytes (as the reference implementation's limit): a header is
 * names, shapes and offsets, so a bigger one is damage or a hostile file, and reading it would
 * cost memory out of proportion to any real tensor list.
 */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/**
 * The JSON header's length from a file's first 8 bytes, checked against the file's length
 * `fileLength` (and SAFETENSORS_MAX_HEADER_BYTES); `source` names the file in errors. With
 * `parseSafetensorsHeader` and `decodeSafetensorsTensor`, a reader can take a file a piece at a
 * time (header first, then each tensor) instead of holding all of it in one buffer.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileLength: number, source = 'safetensors data'): number {
  if (fileLength < 8 || first8.length < 8) fail(source, `too short to be a safetensors file (${Math.min(fileLength, first8.length)} bytes)`);
  // Compare as BigInt: a garbage length can exceed 2^53 and would lose precision as a number.
  const headerLen64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLen64 === 0n || headerLen64 > BigInt(fileLength - 8)) {
    fail(source, `header length ${headerLen64} does not fit in ${fileLength} bytes; the file is truncated or not safetensors`);
  }
  if (headerLen64 > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(source, `header length ${headerLen64} is over the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit; the file is corrupt or not safetensors`);
  }
  return Number(headerLen64);
}

/**
 * Validates a header (the `headerBytes` after the 8-byte length) of a file of `fileLength` bytes:
 * every entry an object with a known dtype, a shape of counts and ordered offsets whose span is
 * exactly the shape's bytes, inside the data section, no two tensors overlapping, no name twice,
 * metadata an object of strings. Throws a DataError naming `source`, the entry and the problem.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileLength: number, source = 'safetensors data'): SafetensorsHeader {
  const headerLen = headerBytes.length;
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(source, 'header is not valid UTF-8; the file is corrupt or not safetensors');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(source, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail(source, `header must be a JSON object of tensors, got ${kindOf(header)}`);
  const fields = header as Record<string, unknown>;

  // JSON.parse silently keeps the last of repeated keys, which would hide a tensor; find them
  // in the text itself.
  const names = topLevelKeys(text);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) fail(source, name === METADATA_KEY ? `header has ${METADATA_KEY} twice` : `header lists tensor "${name}" twice`);
    seen.add(name);
  }

  const dataLen = fileLength - 8 - headerLen;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const name of names) {
    const info = fields[name];
    if (name === METADATA_KEY) {
      if (!isPlainObject(info)) fail(source, `${METADATA_KEY} must be an object of strings, got ${kindOf(info)}`);
      for (const [k, v] of Object.entries(info as object)) {
        if (typeof v !== 'string') fail(source, `${METADATA_KEY} must be an object of strings, but "${k}" is ${kindOf(v)}`);
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const where = `tensor "${name}"`;
    if (!isPlainObject(info)) fail(source, `${where} has header entry ${fmt(info)}; expected {"dtype", "shape", "data_offsets"}`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(BYTES, dtype)) {
      fail(source, `${where} has unsupported dtype ${fmt(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(source, `${where} has shape ${fmt(shape)}; expected an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      fail(source, `${where} has data_offsets ${fmt(offsets)}; expected [begin, end] with integers 0 <= begin <= end`);
    }
    const d = dtype as FileDtype;
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    // A product past 2^53 is inexact, but then it cannot match a real byte count either.
    const need = dims.reduce((a, b) => a * b, 1) * BYTES[d];
    if (end - begin !== need) {
      fail(source, `${where} has data_offsets [${begin}, ${end}] but ${d} [${dims.join(', ')}] needs ${need} bytes`);
    }
    if (end > dataLen) {
      fail(source, `${where} has data_offsets [${begin}, ${end}] past the end of the data section (${dataLen} bytes); the file is truncated or the offsets are wrong`);
    }
    entries.push({ name, dtype: d, shape: dims, begin, end });
  }

  // Two tensors sharing bytes means at least one header entry is wrong. Empty tensors occupy no
  // bytes and cannot overlap anything. Gaps are allowed: they do no harm to reading. Sorted by
  // start, the spans before the first overlap are disjoint, so the first overlap is always with
  // the immediately preceding span.
  const spans = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let k = 1; k < spans.length; k++) {
    const [a, b] = [spans[k - 1], spans[k]];
    if (b.begin < a.end) {
      fail(source, `tensors "${a.name}" (data_offsets [${a.begin}, ${a.end}]) and "${b.name}" (data_offsets [${b.begin}, ${b.end}]) overlap`);
    }
  }
  return { entries, metadata, dataStart: 8 + headerLen };
}

/**
 * One tensor from its bytes (exactly the entry's span, any view): copied into memory the array
 * owns, F16 / BF16 widened to F32 with `sourceDtype` set. With `{ adopt: true }` a Uint8Array
 * that is the whole of its own ArrayBuffer (as a reader that allocated it for this tensor has)
 * is used as it is, without the copy: a multi-gigabyte tensor then needs its bytes only once.
 */
export function decodeSafetensorsTensor(entry: SafetensorsEntry, bytes: Uint8Array, opts: { adopt?: boolean } = {}): NamedArray {
  if (bytes.length !== entry.end - entry.begin) {
    throw new ShapeError(`safetensors: "${entry.name}" needs ${entry.end - entry.begin} bytes, got ${bytes.length}`);
  }
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  if (opts.adopt && whole) return toArray(entry.dtype, entry.shape, bytes.buffer as ArrayBuffer);
  // Copy with set(), not slice(): Buffer.prototype.slice returns a view into the same pool, and
  // typed arrays over a view's `.buffer` would read the wrong bytes or be misaligned.
  const own = new Uint8Array(bytes.length);
  own.set(bytes);
  return toArray(entry.dtype, entry.shape, own.buffer);
}

/**
 * Parse a safetensors file; `source` names it in error messages. Any Uint8Array view works
 * (including a Node Buffer inside a shared pool): every tensor's bytes are copied out, so the
 * result never aliases `buf` and alignment does not matter. F16 and BF16 tensors are widened
 * to F32 (exactly) with `sourceDtype` recording the file's dtype. A malformed file throws a
 * DataError naming `source`, the tensor and the problem.
 */
export function decodeSafetensors(buf: Uint8Array | ArrayBuffer, source = 'safetensors data'): DecodedSafetensors {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (bytes.length < 8) fail(source, `too short to be a safetensors file (${bytes.length} bytes)`);
  const headerLen = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, source);
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLen), bytes.length, source);
  const tensors: Record<string, NamedArray> = {};
  for (const e of entries) {
    const array = decodeSafetensorsTensor(e, bytes.subarray(dataStart + e.begin, dataStart + e.end));
    // defineProperty: a tensor named "__proto__" must stay a tensor (see encodeSafetensors).
    Object.defineProperty(tensors, e.name, { value: array, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

// A declaration (not an arrow) so TypeScript narrows after `if (...) fail(...)`.
function fail(source: string, problem: string): never {
  throw new DataError(`${source}: ${problem}`, source);
}

/** Wraps a tensor's own (aligned) bytes in the typed array for its dtype. */
function toArray(dtype: FileDtype, shape: number[], b: ArrayBuffer): NamedArray {
  switch (dtype) {
    case 'F16':
      return { dtype: 'F32', shape, data: float16ToFloat32Array(new Uint16Array(b)), sourceDtype: 'F16' };
    case 'BF16':
      return { dtype: 'F32', shape, data: bfloat16ToFloat32Array(new Uint16Array(b)), sourceDtype: 'BF16' };
    case 'F32':
      return { dtype, shape, data: new Float32Array(b) };
    case 'F64':
      return { dtype, shape, data: new Float64Array(b) };
    case 'I8':
      return { dtype, shape, data: new Int8Array(b) };
    case 'I16':
      return { dtype, shape, data: new Int16Array(b) };
    case 'I32':
      return { dtype, shape, data: new Int32Array(b) };
    case 'I64':
      return { dtype, shape, data: new BigInt64Array(b) };
    case 'U8':
    case 'BOOL':
      return { dtype, shape, data: new Uint8Array(b) };
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${fmt(v)}`;
}

/** A header value as it appeared in the JSON (short, for messages). */
function fmt(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The keys of the top-level object of `text`, in order, repeats included. `text` must already
 * have passed JSON.parse, so only the token boundaries need finding: strings (with escapes),
 * nested objects/arrays by depth, and bare scalars up to the next delimiter.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let i = skipSpace(text, 0) + 1; // past '{'
  i = skipSpace(text, i);
  if (text[i] === '}') return keys;
  for (;;) {
    i = skipSpace(text, i);
    const end = stringEnd(text, i);
    // JSON.parse decodes escapes, so "a" and "\u0061" compare equal, as they do for JSON.parse.
    keys.push(JSON.parse(text.slice(i, end)) as string);
    i = skipSpace(text, end) + 1; // past ':'
    i = skipValue(text, skipSpace(text, i));
    i = skipSpace(text, i);
    if (text[i] !== ',') return keys; // '}'
    i++;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}

/** Index just past the string literal that starts at `i` (an opening quote). */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Index just past the JSON value that starts at `i`. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (;;) {
      const ch = text[i];
      if (ch === '"') {
        i = stringEnd(text, i);
        continue;
      }
      if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
  }
  while (i < text.length && !',}] \t\n\r'.includes(text[i])) i++;
  return i;
}
