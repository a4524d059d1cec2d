/**
 * Atomic file writes: write to a temporary file in the same directory, fsync, then rename over
 * the target. A crash (or SIGKILL) at any moment leaves either the old file or the new one,
 * never a torn one. Any failure (a full disk, a read-only folder) removes the temporary file
 * before the error goes on, so a failed write neither leaves debris nor keeps the disk full; a
 * kill leaves one, which the next trainer in the folder removes (run-dir.ts removeStaleTemps).
 */
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { RunDirError } from './errors';
import { describeWriteFailure } from './run-dir';

/** What a file is written from: its bytes, text, or its pieces in order (streamed, never joined). */
export type FileContent = Uint8Array | string | Iterable<Uint8Array>;

/** The temporary name of `path` while this process writes it (matches run-dir.ts TEMP_FILE). */
export function tempPathOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

/** One write call moves at most this much: Node refuses single writes of 2 GiB or more. */
const MAX_WRITE = 1 << 30;

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, MAX_WRITE));
}

/**
 * Writes `data` to `path` atomically. Errors are RunDirErrors saying what went wrong in words
 * (no space left, read-only, permission denied) with the previous file, if any, untouched.
 */
export function writeFileAtomic(path: string, data: FileContent): void {
  const tmp = tempPathOf(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', 0o644);
    if (typeof data === 'string') writeAll(fd, Buffer.from(data));
    else if (data instanceof Uint8Array) writeAll(fd, data);
    else for (const part of data) writeAll(fd, part);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* the error that matters is the first */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or renamed */
    }
    if (e instanceof RunDirError) throw e;
    throw new RunDirError(`cannot write ${path}: ${describeWriteFailure(e)}${path.endsWith('.safetensors') || path.endsWith('.json') ? ' (the previous version, if any, is kept)' : ''}.`, dirname(path));
  }
  // Persist the rename itself.
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    /* directories cannot be fsynced on every platform */
  }
}
