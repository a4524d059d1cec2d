/**
 * IDX files read from disk (Node only: `readMaybeGzip` uses node:fs and node:zlib); the parser
 * itself, `parseIdx`, is in the main entry so a browser can use it on fetched bytes.
 */
import { readMaybeGzip } from './files';
import { parseIdx, type IdxArray } from './parse-idx';

/** Reads and parses an IDX file (.gz or raw). */
export async function readIdx(path: string, expectedMagic: number): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(path), path, expectedMagic);
}
