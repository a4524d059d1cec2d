/**
 * `metrics.jsonl`, one JSON object a line, appended as training goes. A power cut or a full disk
 * can cut the last line short; a resume then cuts the file back to its last complete line (with
 * a note) and to the checkpoint's iteration, so every iteration is logged exactly once across
 * any number of interruptions. A damaged line before the last is not a crash's doing: it is
 * named, and the resume refused until it is fixed.
 */
import { appendFileSync, closeSync, existsSync, openSync, readSync } from 'node:fs';
import { DataError } from '@dino-ts/core';
import { RunDirError } from './errors';
import { describeWriteFailure } from './run-dir';
import { statInputFile } from './safetensors-file';
import type { MetricRow } from './report';

/** Largest metrics file read back (a line is a few hundred bytes: this is millions of iterations). */
export const MAX_METRICS_BYTES = 4 * 2 ** 30;

const MAX_LINE_BYTES = 1 << 20;

/** A row as logged: a step or a k-NN point. */
export type LoggedRow = MetricRow & { type?: string };

/**
 * The rows of `path` a run resumed at `iteration` keeps: the steps before it and the k-NN points
 * up to it (a k-NN point is logged at an epoch's end, just before that iteration's checkpoint).
 * `log` gets a note for a torn last line and for the rows dropped after the checkpoint.
 */
export function rowsForResume(path: string, iteration: number, log: (line: string) => void): LoggedRow[] {
  if (!existsSync(path)) return [];
  const size = statInputFile(path, 'metrics log', MAX_METRICS_BYTES).size;
  const kept: LoggedRow[] = [];
  let dropped = 0;
  let lineNo = 0;
  let pending: string | null = null;
  const consider = (text: string, last: boolean, complete: boolean) => {
    lineNo++;
    if (!text.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      row = undefined;
    }
    const ok = typeof row === 'object' && row !== null && !Array.isArray(row) && Number.isSafeInteger((row as LoggedRow).iteration) && (row as LoggedRow).iteration >= 0;
    if (!ok) {
      if (last) {
        log(`Note: ${path}: its last line ${complete ? 'is damaged' : 'was cut short'} (${text.length} bytes, an interrupted write); it is dropped.`);
        return;
      }
      throw new DataError(`${path}: line ${lineNo} is not a metrics row (a JSON object with an "iteration"): fix or delete that line; the checkpoint itself is intact`, path);
    }
    const r = row as LoggedRow;
    if (r.type === 'knn' ? r.iteration <= iteration : r.iteration < iteration) kept.push(r);
    else dropped++;
  };
  // Read in pieces and split on newlines: the file may be larger than one string can be.
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry: Buffer = Buffer.alloc(0);
    let pos = 0;
    while (pos < size) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      pos += n;
      let buf = Buffer.concat([carry, chunk.subarray(0, n)]);
      let nl: number;
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        if (pending !== null) consider(pending, false, true);
        pending = buf.subarray(0, nl).toString('utf8');
        buf = buf.subarray(nl + 1);
      }
      // A row is a few hundred bytes; a megabyte without a newline is not a log (nor a torn row).
      if (buf.length > MAX_LINE_BYTES) throw new DataError(`${path}: line ${lineNo + (pending === null ? 1 : 2)} is over ${MAX_LINE_BYTES} bytes long, not a metrics row; the file is damaged: fix or delete it`, path);
      carry = Buffer.from(buf);
    }
    // The last complete line, then whatever follows the last newline (a torn write).
    const tail = carry.length > 0 ? carry.toString('utf8') : null;
    if (pending !== null) consider(pending, tail === null, true);
    if (tail !== null) consider(tail, true, false);
  } finally {
    closeSync(fd);
  }
  if (dropped > 0) log(`Note: ${path}: ${dropped} row(s) logged after the checkpoint's iteration ${iteration} are dropped (that work is redone).`);
  return kept;
}

/** The text of a metrics file holding `rows`. */
export function metricsText(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** Appends one row; a failure is a RunDirError saying what went wrong. */
export function appendRow(path: string, row: object): void {
  try {
    appendFileSync(path, JSON.stringify(row) + '\n');
  } catch (e) {
    throw new RunDirError(`cannot append to ${path}: ${describeWriteFailure(e)}.`, path);
  }
}
