/**
 * IDX files read from disk (Node only: node:fs and node:zlib); the parser itself, `parseIdx`, is
 * in the main entry so a browser can use it on fetched bytes.
 *
 * Memory is bounded by what the header declares: a gzipped file is inflated as a stream into one
 * buffer of exactly the declared size, and inflation stops as soon as the data runs past it, so
 * a few megabytes of gzip that would inflate to gigabytes cost no more than an honest file.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors';
import { regularFileSize } from './files';
import { parseIdx, parseIdxHeader, type IdxArray, type IdxHeader } from '../parse-idx';

/**
 * Largest IDX file read (header and data), by default: 2 GiB, forty times Fashion-MNIST's
 * training images. A header declaring more is refused before anything is allocated.
 */
export const IDX_MAX_BYTES = 2 ** 31;

/** Bytes inflated past the declared size that are still counted, to say by how much a file is over. */
const EXCESS_COUNTED = 1 << 20;

export interface ReadIdxOptions {
  /** Largest file (header + data) accepted; default IDX_MAX_BYTES. */
  maxBytes?: number;
}

/** Reads and parses an IDX file (.gz or raw). */
export async function readIdx(path: string, expectedMagic: number, options: ReadIdxOptions = {}): Promise<IdxArray> {
  const maxBytes = options.maxBytes ?? IDX_MAX_BYTES;
  const size = await regularFileSize(path, 'IDX file');
  if (!path.endsWith('.gz')) {
    if (size > maxBytes) throw new DataError(`${path} is ${size} bytes, more than the ${maxBytes} an IDX file may have`, path);
    let raw: Buffer;
    try {
      raw = await readFile(path);
    } catch (e) {
      throw new DataError(`cannot read ${path}: ${(e as Error).message}`, path);
    }
    return parseIdx(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), path, expectedMagic);
  }
  return inflateIdx(path, expectedMagic, maxBytes);
}

/** Inflates a gzipped IDX file into a buffer of the size its header declares, no more. */
async function inflateIdx(path: string, expectedMagic: number, maxBytes: number): Promise<IdxArray> {
  let head = new Uint8Array(0);
  let header: IdxHeader | null = null;
  let out: Uint8Array | null = null;
  let filled = 0;
  let excess = 0;
  // The sink's own error: pipeline may reject with the abort it causes instead.
  let failure: DataError | null = null;
  const stop = (e: DataError): never => {
    failure = e;
    throw e;
  };
  const tooBig = (h: IdxHeader, declared: number) =>
    new DataError(`${path}: its header [${h.dims.join(', ')}] declares ${declared} bytes, more than the ${maxBytes} an IDX file may have`, path);
  try {
    await pipeline(createReadStream(path), createGunzip(), async (inflated: AsyncIterable<Buffer>) => {
      for await (const chunk of inflated) {
        let bytes: Uint8Array = chunk;
        if (!header) {
          const joined = new Uint8Array(head.length + bytes.length);
          joined.set(head);
          joined.set(bytes, head.length);
          head = joined;
          // Enough for the magic, then for the whole header; parseIdxHeader names what is wrong.
          if (head.length < 4) continue;
          const rank = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0, false) & 0xff;
          try {
            if (head.length < 4 + 4 * rank) {
              parseIdxHeader(head, path, expectedMagic); // a wrong magic is refused at once
              continue;
            }
            header = parseIdxHeader(head, path, expectedMagic);
          } catch (e) {
            stop(e as DataError);
          }
          const declared = header!.headerBytes + header!.count;
          if (declared > maxBytes) stop(tooBig(header!, declared));
          out = new Uint8Array(declared);
          bytes = head;
        }
        const room = out!.length - filled;
        const take = Math.min(room, bytes.length);
        out!.set(bytes.subarray(0, take), filled);
        filled += take;
        excess += bytes.length - take;
        if (excess > EXCESS_COUNTED) {
          stop(
            new DataError(
              `${path} inflates to more than the ${out!.length} bytes its header [${header!.dims.join(', ')}] declares (over ${EXCESS_COUNTED} bytes beyond); the file is corrupt`,
              path,
            ),
          );
        }
      }
    });
  } catch (e) {
    if (failure) throw failure;
    if (e instanceof DataError) throw e;
    // The file system's errors carry the call that failed; zlib's do not.
    if ((e as NodeJS.ErrnoException).syscall) {
      throw new DataError(`cannot read ${path}: ${(e as Error).message}`, path);
    }
    throw new DataError(
      `${path} is not a valid gzip file (${(e as Error).message}); the download may be truncated: fetch it again, ` +
        'or pass the un-gzipped file',
      path,
    );
  }
  // (Assigned inside the sink: TypeScript cannot see that, hence the annotations.)
  const h = header as IdxHeader | null;
  const data = out as Uint8Array | null;
  if (!h || !data) return parseIdx(head, path, expectedMagic); // names the short header
  if (excess > 0) {
    throw new DataError(`${path} has ${excess} bytes beyond the ${h.count} its header [${h.dims.join(', ')}] describes; the file is corrupt`, path);
  }
  return parseIdx(data.subarray(0, filled), path, expectedMagic);
}
