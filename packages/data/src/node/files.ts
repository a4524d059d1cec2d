/**
 * File helpers of the Node-only loaders (IDX, Fashion-MNIST, CIFAR). Nothing in the main entry may
 * import this module: it pulls in node:fs, node:zlib and node:util, which a browser bundle lacks.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { DataError } from '../errors';

const gunzipAsync = promisify(gunzip);

/** Reads a file, gunzipping it when its name ends in .gz; errors name the file. */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  await regularFileSize(path, 'data file');
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (e) {
    throw new DataError(`cannot read ${path}: ${(e as Error).message}`, path);
  }
  if (!path.endsWith('.gz')) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = await gunzipAsync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new DataError(
      `${path} is not a valid gzip file (${(e as Error).message}); the download may be truncated: fetch it again, ` +
        'or pass the un-gzipped file',
      path,
    );
  }
}

/**
 * The size of `path`, which must be a regular file: a named pipe would block a read forever and
 * a device (a link to /dev/zero) never end one, so both are refused before any read. `what`
 * names the file's role in errors.
 */
export async function regularFileSize(path: string, what: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new DataError(`cannot read ${path}: ${(e as Error).message}`, path);
  }
  if (st.isDirectory()) throw new DataError(`${path} is a folder, not the ${what} expected there`, path);
  if (!st.isFile()) throw new DataError(`${path} is not a regular file (a pipe or a device), not the ${what} expected there`, path);
  return st.size;
}

/** True when `path` is an existing directory. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The first of `candidates` that exists, or undefined. */
export function firstExisting(candidates: readonly string[]): string | undefined {
  return candidates.find((p) => existsSync(p));
}

/**
 * Like `Promise.all` over file reads, but when several fail it throws the error of the first
 * in list order, not of whichever failed first: the same bad input always gets the same message.
 */
export async function allInOrder<T>(reads: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(reads);
  return settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
}
