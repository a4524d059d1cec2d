/**
 * safetensors files on disk, read and written a piece at a time: the header first, then each
 * tensor at its offset. Nothing holds the whole file in one buffer, so files over 2 GiB (Node's
 * limit for readFileSync, and near what the `reference` preset's checkpoint with its optimizer
 * moments reaches) read and write like small ones, and a file is checked (a regular file, a
 * plausible size, a valid header) before any tensor's memory is taken.
 */
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { totalmem } from 'node:os';
import {
  DataError,
  decodeSafetensorsTensor,
  encodeSafetensorsParts,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  type DecodedSafetensors,
  type EncodeOptions,
  type NamedArray,
} from '@dino-ts/core';
import { writeFileAtomic } from './atomic';

/** Most bytes one read call asks for (Node refuses single reads of 2 GiB or more). */
const READ_CHUNK = 1 << 30;

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The stat of a file about to be read whole, after the checks that keep a read from hanging or
 * exhausting memory: a regular file (a FIFO would block, /dev/zero would never end), at most
 * `maxBytes`. `what` names the file's role in errors ("checkpoint").
 */
export function statInputFile(path: string, what: string, maxBytes: number): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw new DataError(`cannot read the ${what} ${path}: ${(e as Error).message}`, path);
  }
  if (!st.isFile()) throw new DataError(`the ${what} ${path} is ${kindOf(st)}, not a regular file`, path);
  if (st.size > maxBytes) {
    throw new DataError(`the ${what} ${path} is ${gib(st.size)}, more than the ${gib(maxBytes)} this machine can hold in memory`, path);
  }
  return st;
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${bytes} bytes`;
}

/** Reads exactly `length` bytes at `position`, in chunks; a file that ends sooner is a DataError. */
function readAt(fd: number, length: number, position: number, path: string, chunk: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(length - done, chunk), position + done);
    if (n === 0) throw new DataError(`${path}: the file ended at byte ${position + done} while ${length} bytes were to be read at ${position}; it was truncated while being read`, path);
    done += n;
  }
  return out;
}

export interface ReadSafetensorsOptions {
  /** Largest file accepted (default: the machine's memory). */
  maxBytes?: number;
  /** Bytes per read call (tests make it small to exercise the chunking). */
  chunkBytes?: number;
  /** What the file is, for errors ("checkpoint", "weights file"). */
  what?: string;
}

/**
 * Reads a safetensors file: a regular file of plausible size, its header validated (by core's
 * parser: entries, dtypes, offsets inside the file, no overlaps, no name twice) before any
 * tensor is allocated, then each tensor read at its offset.
 */
export function readSafetensorsFile(path: string, opts: ReadSafetensorsOptions = {}): DecodedSafetensors {
  const { maxBytes = totalmem(), chunkBytes = READ_CHUNK, what = 'safetensors file' } = opts;
  const size = statInputFile(path, what, maxBytes).size;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new DataError(`cannot read the ${what} ${path}: ${(e as Error).message}`, path);
  }
  try {
    const first = readAt(fd, Math.min(8, size), 0, path, chunkBytes);
    const headerLen = safetensorsHeaderLength(first, size, path);
    const header = parseSafetensorsHeader(readAt(fd, headerLen, 8, path, chunkBytes), size, path);
    const tensors: Record<string, NamedArray> = {};
    for (const e of header.entries) {
      const bytes = readAt(fd, e.end - e.begin, header.dataStart + e.begin, path, chunkBytes);
      // defineProperty: a tensor named "__proto__" stays a tensor (as in core's decoder).
      // The bytes were allocated for this tensor alone: adopted, not copied again.
      Object.defineProperty(tensors, e.name, { value: decodeSafetensorsTensor(e, bytes, { adopt: true }), enumerable: true, writable: true, configurable: true });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    closeSync(fd);
  }
}

/** Writes a safetensors file atomically, streaming the tensors' bytes (no joined copy). */
export function writeSafetensorsFile(path: string, tensors: Record<string, NamedArray>, metadata?: Record<string, string>, options?: EncodeOptions): void {
  const { header, parts } = encodeSafetensorsParts(tensors, metadata, options);
  writeFileAtomic(path, [header, ...parts]);
}
