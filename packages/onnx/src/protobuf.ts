/**
 * The few pieces of the protobuf wire format an ONNX file needs, written and read by hand: a
 * model is a handful of message types, and a general protobuf library (with its schema loader
 * and code generation) would be most of the bundle for a browser app that only exports.
 *
 * Wire format: each field is a key varint `(field << 3) | wireType` followed by its value: a
 * varint (wire type 0), 8 little-endian bytes (1), a varint length and that many bytes (2:
 * strings, bytes, nested messages) or 4 little-endian bytes (5: float).
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

export const WireType = { VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 } as const;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Bytes fields longer than this are kept by reference rather than copied into the scratch buffer. */
const BY_REFERENCE = 256;

/**
 * A message under construction. Small fields go into a growing scratch buffer; large byte
 * fields (tensor data) and nested messages are kept as references to their chunks, so writing a
 * 90 MB model copies each weight once, in `finish()`. A nested message needs its length before
 * its bytes, which is why messages are built bottom-up: a child is complete before its parent
 * embeds it.
 */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(64);
  private pos = 0;
  private done = 0;

  /** Encoded size in bytes so far. */
  get length(): number {
    return this.done + this.pos;
  }

  /** A varint field (int32, int64, enum, bool). Negative values take 10 bytes, as int64 on the wire. */
  int(field: number, value: number | bigint): this {
    this.key(field, VARINT);
    this.varint(value);
    return this;
  }

  /** A float field (fixed 32-bit, little-endian). */
  float(field: number, value: number): this {
    this.key(field, FIXED32);
    this.reserve(4);
    new DataView(this.scratch.buffer, this.scratch.byteOffset + this.pos, 4).setFloat32(0, value, true);
    this.pos += 4;
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** A bytes field; large ones are referenced, not copied, until `finish()`. */
  bytes(field: number, value: Uint8Array): this {
    this.key(field, LENGTH_DELIMITED);
    this.varint(value.length);
    if (value.length > BY_REFERENCE) {
      this.flush();
      this.chunks.push(value);
      this.done += value.length;
    } else {
      this.reserve(value.length);
      this.scratch.set(value, this.pos);
      this.pos += value.length;
    }
    return this;
  }

  /** A nested message field; `message` must be complete (it is not copied until `finish()`). */
  message(field: number, message: ProtoWriter): this {
    message.flush();
    this.key(field, LENGTH_DELIMITED);
    this.varint(message.done);
    this.flush();
    for (const c of message.chunks) this.chunks.push(c);
    this.done += message.done;
    return this;
  }

  /** The encoded message as one buffer. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.done);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private key(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  private varint(value: number | bigint): void {
    this.reserve(10);
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
      // Division rather than bit shifts: shifts truncate to 32 bits and int64 values can be larger.
      let v = value;
      while (v >= 0x80) {
        this.scratch[this.pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.scratch[this.pos++] = v;
      return;
    }
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError(`protobuf varint: ${value} is not a safe integer`);
    }
    // Negative int64: its two's complement as an unsigned 64-bit number (always 10 bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.pos++] = Number(v);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    const grown = new Uint8Array(Math.max(this.scratch.length * 2, this.pos + n));
    grown.set(this.scratch.subarray(0, this.pos));
    this.scratch = grown;
  }

  /** Moves the scratch bytes into the chunk list (a view of them, then a fresh scratch buffer). */
  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.pos));
    this.done += this.pos;
    this.scratch = new Uint8Array(64);
    this.pos = 0;
  }
}

/** One decoded field: its number, wire type and value (a number, or the bytes of a length-delimited field). */
export interface ProtoField {
  field: number;
  wireType: number;
  /** The varint (as a signed 64-bit value) or the fixed32/fixed64 bits as a number. */
  int: bigint;
  /** The payload of a length-delimited field (a view into the input). */
  bytes: Uint8Array;
}

/** Decodes the fields of one message, in order; throws a RangeError on truncated or malformed input. */
export function readFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new RangeError('protobuf: truncated varint');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
    }
    throw new RangeError('protobuf: varint longer than 10 bytes');
  };
  const empty = new Uint8Array(0);
  while (pos < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === VARINT) {
      out.push({ field, wireType, int: readVarint(), bytes: empty });
    } else if (wireType === LENGTH_DELIMITED) {
      const len = Number(readVarint());
      if (len < 0 || pos + len > buf.length) throw new RangeError('protobuf: length-delimited field runs past the end');
      out.push({ field, wireType, int: 0n, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wireType === FIXED32) {
      if (pos + 4 > buf.length) throw new RangeError('protobuf: truncated fixed32');
      out.push({ field, wireType, int: BigInt(view.getUint32(pos, true)), bytes: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else if (wireType === FIXED64) {
      if (pos + 8 > buf.length) throw new RangeError('protobuf: truncated fixed64');
      out.push({ field, wireType, int: view.getBigInt64(pos, true), bytes: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else {
      throw new RangeError(`protobuf: unsupported wire type ${wireType} (field ${field})`);
    }
  }
  return out;
}

/** A length-delimited field's payload as UTF-8 text. */
export function fieldText(f: ProtoField): string {
  return utf8Decoder.decode(f.bytes);
}
