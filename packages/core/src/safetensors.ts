/**
 * The safetensors format (8-byte little-endian header length, a JSON header of
 * name -> {dtype, shape, data_offsets}, then raw little-endian tensor bytes). PyTorch, JAX and
 * this project all read it, so weights move between them under their reference names.
 */
import { ShapeError } from './errors';

export type SafeDtype = 'F32' | 'I32' | 'F64' | 'I64' | 'U8' | 'BOOL';

export interface NamedArray {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | Int32Array | Float64Array | BigInt64Array | Uint8Array;
}

const BYTES: Record<SafeDtype, number> = { F32: 4, I32: 4, F64: 8, I64: 8, U8: 1, BOOL: 1 };

/** Serialise named arrays (written in key order) with optional string metadata. */
export function encodeSafetensors(
  tensors: Record<string, NamedArray>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) {
      throw new ShapeError(`safetensors: "${name}" has ${t.data.length} values but shape [${t.shape}] needs ${size}`);
    }
    const nbytes = size * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedArray>;
  metadata: Record<string, string>;
}

/** Parse a safetensors buffer; `source` names the file in error messages. */
export function decodeSafetensors(buf: Uint8Array, source = 'safetensors data'): DecodedSafetensors {
  if (buf.length < 8) throw new ShapeError(`${source}: too short to be a safetensors file (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > buf.length) {
    throw new ShapeError(`${source}: header length ${headerLen} does not fit in ${buf.length} bytes; the file is truncated or not safetensors`);
  }
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new ShapeError(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const tensors: Record<string, NamedArray> = {};
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const dtype = info.dtype as SafeDtype;
    if (!(dtype in BYTES)) throw new ShapeError(`${source}: tensor "${name}" has unsupported dtype ${dtype}`);
    const [begin, end] = info.data_offsets as [number, number];
    if (dataStart + end > buf.length) {
      throw new ShapeError(`${source}: tensor "${name}" ends at byte ${dataStart + end} but the file has ${buf.length}; the file is truncated`);
    }
    // Copy so the result is aligned and independent of the input buffer.
    const bytes = buf.slice(dataStart + begin, dataStart + end);
    const shape = info.shape as number[];
    let data: NamedArray['data'];
    switch (dtype) {
      case 'F32': data = new Float32Array(bytes.buffer); break;
      case 'I32': data = new Int32Array(bytes.buffer); break;
      case 'F64': data = new Float64Array(bytes.buffer); break;
      case 'I64': data = new BigInt64Array(bytes.buffer); break;
      default: data = bytes;
    }
    tensors[name] = { dtype, shape, data };
  }
  return { tensors, metadata };
}
