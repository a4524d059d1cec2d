/**
 * The IDX format (MNIST-style files) parsed from bytes already in memory, so it works in a browser
 * (bytes from `fetch`, after `DecompressionStream('gzip')` for .gz files); reading the files from
 * disk is `readIdx` in `@dino-ts/data/node`.
 */
import { DataError } from './errors';

/** IDX magic numbers (Yann LeCun's MNIST format): 0x0000 0x08 (unsigned byte) rank. */
export const IDX_MAGIC = { images: 2051, labels: 2049 } as const;

export interface IdxArray {
  /** Dimensions from the header, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The payload bytes (a view, not a copy). */
  data: Uint8Array;
}

/** What an IDX header says: the dimensions, the header's length and the data bytes it declares. */
export interface IdxHeader {
  dims: number[];
  /** 4 + 4 * rank. */
  headerBytes: number;
  /** The product of the dimensions: bytes of data that follow the header. */
  count: number;
}

function kindOf(expectedMagic: number): string {
  return expectedMagic === IDX_MAGIC.images
    ? 'an IDX image file (magic 2051)'
    : expectedMagic === IDX_MAGIC.labels
      ? 'an IDX label file (magic 2049)'
      : `an IDX file with magic ${expectedMagic}`;
}

/**
 * Parses the header at the start of `bytes` (which may hold only its first bytes, as a stream
 * gives them): the magic is checked against `expectedMagic`, and a header cut short is a
 * DataError naming `path`. A reader learns from it how many bytes the whole file must have
 * before reading (or inflating) the rest, and can refuse a file that claims, or holds, more.
 */
export function parseIdxHeader(bytes: Uint8Array, path: string, expectedMagic: number): IdxHeader {
  const kind = kindOf(expectedMagic);
  if (bytes.length < 4) {
    throw new DataError(`${path} has ${bytes.length} bytes, too short for ${kind}; the file is truncated: fetch it again`, path);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    const other = magic === IDX_MAGIC.images ? ' (an image file)' : magic === IDX_MAGIC.labels ? ' (a label file)' : '';
    throw new DataError(
      `${path} has magic number ${magic}${other}, expected ${expectedMagic}: it is not ${kind}; ` +
        'check that the images and labels files are not swapped and the file is not corrupt',
      path,
    );
  }
  const rank = magic & 0xff;
  const header = 4 + 4 * rank;
  if (bytes.length < header) {
    throw new DataError(`${path} is truncated inside its header (${bytes.length} bytes, header needs ${header}): fetch it again`, path);
  }
  const dims: number[] = [];
  for (let k = 0; k < rank; k++) dims.push(view.getUint32(4 + 4 * k, false));
  return { dims, headerBytes: header, count: dims.reduce((a, b) => a * b, 1) };
}

/**
 * Parses an IDX file of unsigned bytes: big-endian magic 0x00000800 + rank, then `rank` 32-bit
 * big-endian dimensions, then the data. `expectedMagic` (2051 for images, 2049 for labels) is
 * checked, as are the dimensions and the length of the data.
 */
export function parseIdx(bytes: Uint8Array, path: string, expectedMagic: number): IdxArray {
  const { dims, headerBytes: header, count } = parseIdxHeader(bytes, path, expectedMagic);
  const have = bytes.length - header;
  if (have < count) {
    throw new DataError(
      `${path} is truncated: its header [${dims.join(', ')}] needs ${count} data bytes but the file has ${have}; fetch it again`,
      path,
    );
  }
  if (have > count) {
    throw new DataError(
      `${path} has ${have - count} bytes beyond the ${count} its header [${dims.join(', ')}] describes; the file is corrupt`,
      path,
    );
  }
  return { dims, data: bytes.subarray(header, header + count) };
}
