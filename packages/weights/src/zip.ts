/**
 * The zip container of `torch.save` files. Reading walks the central directory itself, so that
 * every declared size, offset and checksum is checked against the bytes before anything is
 * extracted (a truncated download, a flipped bit, or an archive whose entries claim gigabytes is
 * a one-line DataError, never a huge allocation); fflate inflates deflated entries. torch stores
 * its entries uncompressed (method 0), and those are returned as views of the input, not copies.
 * Writing uses fflate with method 0 and pads each entry so its data starts 64-byte aligned, as
 * torch's own writer does.
 */
import { ConfigError, DataError } from '@dino-ts/core';
import { inflateSync, zipSync, type Zippable } from 'fflate';

/** Limits on what an archive may declare (defaults in ZIP_LIMITS). */
export interface ZipLimits {
  /** Most uncompressed bytes all entries together may declare. */
  maxTotalBytes?: number;
  /** Largest uncompressed / compressed ratio of a deflated entry (above: a zip bomb). */
  maxRatio?: number;
}

export const ZIP_LIMITS = { maxTotalBytes: 4 * 1024 ** 3, maxRatio: 1000 } as const;

/** One entry of the central directory, checked against the archive's bounds. */
export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Where the entry's (compressed) data starts in the archive. */
  dataOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

/** Whether `bytes` starts like a zip archive. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5) && (bytes[3] === 4 || bytes[3] === 6);
}

/** A zip archive whose directory has been read and checked; entries are extracted on demand. */
export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;
  private readonly verified = new Set<string>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source = 'zip archive',
    limits: ZipLimits = {},
  ) {
    const { maxTotalBytes = ZIP_LIMITS.maxTotalBytes, maxRatio = ZIP_LIMITS.maxRatio } = limits;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { count, dirOffset, dirSize } = this.endOfDirectory();
    if (dirOffset + dirSize > bytes.length) this.fail(`the central directory (bytes ${dirOffset}-${dirOffset + dirSize}) lies past the end of the file (${bytes.length} bytes): the archive is truncated`);
    let p = dirOffset;
    let total = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > bytes.length || this.u32(p) !== SIG_CENTRAL) this.fail(`central directory entry ${i} is missing or damaged: the archive is truncated or corrupt`);
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc32 = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localOffset = this.u32(p + 42);
      if (p + 46 + nameLen + extraLen > bytes.length) this.fail(`central directory entry ${i} runs past the end of the file: the archive is truncated`);
      const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
      // Zip64: sizes and offsets that do not fit 32 bits are 0xFFFFFFFF here and 64-bit in extra 0x0001.
      if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
        let e = p + 46 + nameLen;
        const end = e + extraLen;
        let found = false;
        while (e + 4 <= end) {
          const id = this.u16(e);
          const len = this.u16(e + 2);
          if (id === 0x0001) {
            let q = e + 4;
            if (size === 0xffffffff) (size = this.u64(q)), (q += 8);
            if (compressedSize === 0xffffffff) (compressedSize = this.u64(q)), (q += 8);
            if (localOffset === 0xffffffff) localOffset = this.u64(q);
            found = true;
            break;
          }
          e += 4 + len;
        }
        if (!found) this.fail(`entry "${name}" has zip64 sizes without a zip64 field: the archive is corrupt`);
      }
      if (flags & 1) this.fail(`entry "${name}" is encrypted: not a PyTorch file`);
      if (method !== 0 && method !== 8) this.fail(`entry "${name}" uses compression method ${method}; only stored (0) and deflate (8) are read`);
      if (method === 0 && size !== compressedSize) this.fail(`stored entry "${name}" declares ${size} bytes but holds ${compressedSize}: the archive is corrupt`);
      total += size;
      if (total > maxTotalBytes) this.fail(`the entries declare more than ${formatBytes(maxTotalBytes)} uncompressed (at "${name}"): refused`);
      if (method === 8 && size > Math.max(compressedSize, 1) * maxRatio) {
        this.fail(`entry "${name}" declares ${formatBytes(size)} from ${formatBytes(compressedSize)} compressed (ratio above ${maxRatio}): a zip bomb, refused`);
      }
      if (localOffset + 30 > bytes.length || this.u32(localOffset) !== SIG_LOCAL) this.fail(`entry "${name}" has no local header at byte ${localOffset}: the archive is truncated or corrupt`);
      const dataOffset = localOffset + 30 + this.u16(localOffset + 26) + this.u16(localOffset + 28);
      if (dataOffset + compressedSize > bytes.length) {
        this.fail(`entry "${name}" (bytes ${dataOffset}-${dataOffset + compressedSize}) runs past the end of the file (${bytes.length} bytes): the archive is truncated`);
      }
      if (this.entries.has(name)) this.fail(`entry "${name}" appears twice: the archive is corrupt`);
      this.entries.set(name, { name, method, crc32, compressedSize, size, dataOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** An entry's bytes (a view for stored entries), checked against its CRC-32. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) this.fail(`entry "${name}" is missing`);
    const raw = this.bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    let data = raw;
    if (e.method === 8) {
      try {
        data = inflateSync(raw, { out: new Uint8Array(e.size) });
      } catch (err) {
        this.fail(`entry "${name}" does not inflate (${(err as Error).message}): the archive is corrupt`);
      }
      if (data.length !== e.size) this.fail(`entry "${name}" inflates to ${data.length} bytes but declares ${e.size}: the archive is corrupt`);
    }
    if (!this.verified.has(name)) {
      const c = crc32(data);
      if (c !== e.crc32) this.fail(`entry "${name}" fails its CRC-32 check (0x${hex32(c)}, expected 0x${hex32(e.crc32)}): the file is corrupt`);
      this.verified.add(name);
    }
    return data;
  }

  private endOfDirectory(): { count: number; dirOffset: number; dirSize: number } {
    const b = this.bytes;
    // The end record is 22 bytes plus a comment of up to 65535 bytes.
    const stop = Math.max(0, b.length - 22 - 0xffff);
    let e = -1;
    for (let i = b.length - 22; i >= stop; i--) {
      if (this.u32(i) === SIG_EOCD) {
        e = i;
        break;
      }
    }
    if (e < 0) this.fail('no end-of-central-directory record: the archive is truncated or not a zip file');
    let count = this.u16(e + 10);
    let dirSize = this.u32(e + 12);
    let dirOffset = this.u32(e + 16);
    if (e >= 20 && this.u32(e - 20) === SIG_EOCD64_LOCATOR) {
      const z = this.u64(e - 12);
      if (z + 56 > b.length || this.u32(z) !== SIG_EOCD64) this.fail('the zip64 end record is missing: the archive is truncated or corrupt');
      count = this.u64(z + 32);
      dirSize = this.u64(z + 40);
      dirOffset = this.u64(z + 48);
    }
    return { count, dirOffset, dirSize };
  }

  private u16(p: number): number {
    return this.view.getUint16(p, true);
  }

  private u32(p: number): number {
    return this.view.getUint32(p, true);
  }

  private u64(p: number): number {
    const v = this.view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('a zip64 size or offset is out of range: the archive is corrupt');
    return Number(v);
  }

  private fail(problem: string): never {
    throw new DataError(`${this.source}: ${problem}`, this.source);
  }
}

/**
 * A zip archive of uncompressed entries, in the given order, each entry's data 64-byte aligned
 * (torch's layout; it lets a reader map tensors in place). Times are fixed, so equal inputs give
 * equal bytes.
 */
export function writeZip(entries: Array<[string, Uint8Array]>): Uint8Array {
  const ALIGN = 64;
  // The padding goes in an extra field: 2 bytes id + 2 bytes length + padding bytes.
  const PAD_ID = 0x4246; // "FB", the id torch uses for the same purpose
  const files: Zippable = {};
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  let offset = 0;
  let total = 0;
  for (const [name, data] of entries) {
    const nameLen = new TextEncoder().encode(name).length;
    const headerEnd = offset + 30 + nameLen + 4;
    const pad = (ALIGN - (headerEnd % ALIGN)) % ALIGN;
    files[name] = [data, { level: 0, mtime, extra: { [PAD_ID]: new Uint8Array(pad).fill(0x5a) } }];
    offset = headerEnd + pad + data.length;
    total += data.length;
  }
  // Plain zip (no zip64): every offset and size must fit 32 bits.
  if (offset > 0xfffffff0 || total > 0xfffffff0) throw new ConfigError('size', `${formatBytes(offset)}`, 'must stay under 4 GiB for a .pth written here (zip64 is not written)');
  return zipSync(files, { level: 0, mtime });
}

// ---- CRC-32 (IEEE 802.3, as zip uses) ---------------------------------------------------------

let table: Int32Array | undefined;

function crcTable(): Int32Array {
  if (table) return table;
  table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

/** CRC-32 of `data` (unsigned). */
export function crc32(data: Uint8Array): number {
  const t = crcTable();
  let c = -1;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function hex32(v: number): string {
  return v.toString(16).padStart(8, '0');
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
