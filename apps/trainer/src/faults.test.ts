/**
 * A failing machine and interrupted runs: a disk that fills up mid-checkpoint, a metrics log cut
 * mid-line, temporary files and locks left by killed processes, a second trainer on the same
 * folder. Each time the run directory keeps its last good state and a resume continues it. The
 * built CLI runs in child processes (`pnpm build` first), as a user runs it.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeSafetensors, type NamedArray } from '@dino-ts/core';
import { tempDir } from '@dino-ts/core/testing';
import { writeFileAtomic } from './atomic';
import { acquireRunLock, removeStaleTemps, LOCK_FILE } from './run-dir';
import { rowsForResume } from './metrics-log';
import { readSafetensorsFile, writeSafetensorsFile } from './safetensors-file';
import { RunDirError } from './errors';

const BIN = resolve(__dirname, '../dist/bin.js');
const TINY = ['--preset', 'smoke', '--train-size', '64', '--test-size', '32', '--batch-size', '16', '--backend', 'wasm', '--no-report', '--eval-every', '0'];

function dino(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const bytesOf = (dir: string, f: string) => readFileSync(join(dir, f));
const tensorsOf = (dir: string) => decodeSafetensors(new Uint8Array(bytesOf(dir, 'checkpoint.safetensors'))).tensors;
const runOf = (dir: string) => JSON.parse(bytesOf(dir, 'checkpoint.json').toString('utf8')) as { iteration: number };
const steps = (dir: string) =>
  bytesOf(dir, 'metrics.jsonl')
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'step')
    .map((r) => r.iteration);
const sameTensors = (a: Record<string, NamedArray>, b: Record<string, NamedArray>) =>
  Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => b[k] && Buffer.from(a[k].data.buffer).equals(Buffer.from(b[k].data.buffer)));
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp') || f === LOCK_FILE);

/** A pid that certainly names no process: one that has just exited. */
function deadPid(): number {
  const p = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(p.stdout);
}

function oneErrorLine(err: string): string {
  const lines = err.split('\n').filter((l) => l.startsWith('Error'));
  expect(lines, err).toHaveLength(1);
  expect(err).not.toMatch(/\n\s+at /);
  return lines[0];
}

let reference = ''; // an uninterrupted 4-iteration run, to compare resumed runs with
let twoSteps = ''; // a run stopped after 2 iterations, copied by the tests below

function copyRun(from: string): string {
  const dir = tempDir('dino-faults-');
  for (const f of readdirSync(from)) copyFileSync(join(from, f), join(dir, f));
  return dir;
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` first (the root \`pnpm test\` does).`);
  reference = tempDir('dino-faults-ref-');
  expect(dino(['train', ...TINY, '--save-every', '1', '--max-iterations', '4', '--out', reference]).code).toBe(0);
  twoSteps = tempDir('dino-faults-two-');
  expect(dino(['train', ...TINY, '--save-every', '1', '--max-iterations', '2', '--out', twoSteps]).code).toBe(0);
});

describe('a full disk', () => {
  const mountPoint = tempDir('dino-diskfull-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]).status === 0;
  if (!mounted) console.warn('faults.test: cannot mount a small tmpfs here (not root?): the disk-full test is skipped');

  it.skipIf(!mounted)('keeps the previous checkpoint, leaves no temporary file, and resumes once space is freed', () => {
    try {
      const run = join(mountPoint, 'run');
      mkdirSync(run);
      for (const f of readdirSync(twoSteps)) copyFileSync(join(twoSteps, f), join(run, f));
      const before = { ckpt: bytesOf(run, 'checkpoint.safetensors'), json: bytesOf(run, 'checkpoint.json') };
      // Leave room for a few metrics lines but not for a second copy of the checkpoint.
      const fs = statfsSync(mountPoint);
      const free = fs.bavail * fs.bsize;
      writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(free - 200 * 1024));

      const full = dino(['train', '--resume', '--backend', 'wasm', '--no-report', '--max-iterations', '4', '--out', run]);
      expect(full.code, full.err).toBe(2);
      const line = oneErrorLine(full.err);
      expect(line).toMatch(/cannot write .*checkpoint\.safetensors: no space left on the device/);
      expect(line).toMatch(/the checkpoint of iteration 2 is kept: free space .* and continue with dino train --resume --out/);
      expect(bytesOf(run, 'checkpoint.safetensors').equals(before.ckpt)).toBe(true);
      expect(bytesOf(run, 'checkpoint.json').equals(before.json)).toBe(true);
      expect(leftovers(run)).toEqual([]);

      rmSync(join(mountPoint, 'filler'));
      const resumed = dino(['train', '--resume', '--backend', 'wasm', '--no-report', '--max-iterations', '4', '--out', run]);
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.err).toMatch(/Resuming .* at iteration 2/);
      expect(runOf(run).iteration).toBe(4);
      expect(steps(run)).toEqual([0, 1, 2, 3]);
      expect(leftovers(run)).toEqual([]);
      // Interrupted by a full disk and resumed: the very weights of an uninterrupted run.
      expect(sameTensors(tensorsOf(run), tensorsOf(reference))).toBe(true);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });
});

describe('metrics.jsonl across a resume', () => {
  it('a torn last line is cut with a note, and rows after the checkpoint are dropped: every iteration logged once', () => {
    const torn = copyRun(twoSteps);
    appendFileSync(join(torn, 'metrics.jsonl'), '{"type":"step","iteration":2,"epoch":0,"lo');
    const r = dino(['train', '--resume', '--backend', 'wasm', '--no-report', '--max-iterations', '4', '--out', torn]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/metrics\.jsonl: its last line was cut short .*; it is dropped/);
    expect(steps(torn)).toEqual([0, 1, 2, 3]);

    const ahead = copyRun(twoSteps);
    for (const it of [2, 3, 4]) appendFileSync(join(ahead, 'metrics.jsonl'), JSON.stringify({ type: 'step', iteration: it, epoch: 0, loss: 9 }) + '\n');
    const r2 = dino(['train', '--resume', '--backend', 'wasm', '--no-report', '--max-iterations', '4', '--out', ahead]);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.err).toMatch(/3 row\(s\) logged after the checkpoint's iteration 2 are dropped/);
    expect(steps(ahead)).toEqual([0, 1, 2, 3]);
    expect(sameTensors(tensorsOf(ahead), tensorsOf(reference))).toBe(true);
  });

  it('rowsForResume keeps the steps before the checkpoint and the k-NN points up to it', () => {
    const dir = tempDir('dino-metrics-');
    const path = join(dir, 'metrics.jsonl');
    const rows = [
      { type: 'knn', iteration: 0 },
      { type: 'step', iteration: 0 },
      { type: 'step', iteration: 1 },
      { type: 'knn', iteration: 2 },
      { type: 'step', iteration: 2 },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n\n{"type":"st');
    const notes: string[] = [];
    const kept = rowsForResume(path, 2, (l) => notes.push(l));
    expect(kept.map((r) => `${r.type}${r.iteration}`)).toEqual(['knn0', 'step0', 'step1', 'knn2']);
    expect(notes.join('\n')).toMatch(/cut short/);
    expect(notes.join('\n')).toMatch(/1 row\(s\) logged after/);
    expect(rowsForResume(join(dir, 'absent.jsonl'), 5, () => {})).toEqual([]);
  });
});

describe('what killed processes leave behind', () => {
  it('temporary files of dead processes are removed at start; a live process keeps its own', () => {
    const dir = copyRun(twoSteps);
    const dead = `.checkpoint.safetensors.${deadPid()}.tmp`;
    const live = `.eval-knn.json.${process.pid}.tmp`;
    writeFileSync(join(dir, dead), 'half a checkpoint');
    writeFileSync(join(dir, live), 'being written');
    const r = dino(['train', '--resume', '--backend', 'wasm', '--no-report', '--max-iterations', '3', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`removed ${dead.replace(/\./g, '\\.')}, an unfinished write of a process that is gone`));
    expect(existsSync(join(dir, dead))).toBe(false);
    expect(existsSync(join(dir, live))).toBe(true);
  });

  it('a stale lock (its owner gone) is reported and taken over; the lock is gone after the run', () => {
    const dir = copyRun(twoSteps);
    const pid = deadPid();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), startedAt: '2020-01-01T00:00:00.000Z', command: 'dino train' }));
    const r = dino(['train', '--resume', '--backend', 'wasm', '--no-report', '--max-iterations', '3', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`removing the stale lock of pid ${pid} \\(started 2020-01-01T00:00:00.000Z\\), which is no longer running`));
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(runOf(dir).iteration).toBe(3);
  });

  it('a second trainer on a running one is refused, naming the owner; the first stops cleanly and frees the folder', async () => {
    const dir = tempDir('dino-faults-busy-');
    const first = spawn(process.execPath, [BIN, 'train', ...TINY, '--epochs', '100', '--save-every', '0', '--out', dir], { stdio: 'ignore' });
    const exited = new Promise<number | null>((done) => first.on('exit', (code) => done(code)));
    try {
      await new Promise<void>((done, fail) => {
        const t0 = Date.now();
        const timer = setInterval(() => {
          if (existsSync(join(dir, 'metrics.jsonl'))) {
            clearInterval(timer);
            done();
          } else if (Date.now() - t0 > 60_000) {
            clearInterval(timer);
            fail(new Error('the first trainer did not start'));
          }
        }, 20);
      });
      const second = dino(['train', '--resume', '--backend', 'wasm', '--out', dir]);
      expect(second.code, second.err).toBe(2);
      expect(oneErrorLine(second.err)).toMatch(new RegExp(`is in use by dino train \\(pid ${first.pid} on ${hostname()}, started `));
      const third = dino(['train', ...TINY, '--overwrite', '--out', dir]);
      expect(third.code).toBe(2);
      expect(oneErrorLine(third.err)).toMatch(/is in use by dino train/);
    } finally {
      first.kill('SIGTERM');
    }
    expect(await exited).toBe(130);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(runOf(dir).iteration).toBeGreaterThan(0);
  });

  it('the lock in one process: taken once, refused while held, free again after release', () => {
    const dir = tempDir('dino-lock-');
    const lock = acquireRunLock(dir);
    expect(() => acquireRunLock(dir)).toThrow(RunDirError);
    expect(() => acquireRunLock(dir)).toThrow(new RegExp(`in use by dino train \\(pid ${process.pid}`));
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    acquireRunLock(dir).release();
    // Only this process's temporary files are its own to remove at start; a dead one's go too.
    writeFileSync(join(dir, `.x.${process.pid}.tmp`), '');
    writeFileSync(join(dir, `.y.${deadPid()}.tmp`), '');
    writeFileSync(join(dir, 'keep.tmp'), '');
    removeStaleTemps(dir);
    expect(readdirSync(dir).sort()).toEqual(['keep.tmp']);
  });
});

describe('starting over', () => {
  it('--overwrite replaces a run (its report files too) and starts at iteration 0', () => {
    const dir = copyRun(twoSteps);
    writeFileSync(join(dir, 'report.html'), '<html>old</html>');
    writeFileSync(join(dir, 'notes.txt'), 'the user\'s own file');
    const r = dino(['train', ...TINY, '--overwrite', '--max-iterations', '1', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/--overwrite: removed the previous run's checkpoint\.safetensors, checkpoint\.json, metrics\.jsonl, report\.html/);
    expect(runOf(dir).iteration).toBe(1);
    expect(steps(dir)).toEqual([0]);
    expect(existsSync(join(dir, 'report.html'))).toBe(false);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe("the user's own file");
  });
});

describe('the atomic writer', () => {
  it('removes its temporary file when a write fails part-way, keeping the previous file', () => {
    const dir = tempDir('dino-atomic-');
    const path = join(dir, 'out.bin');
    writeFileSync(path, 'previous');
    function* failing(): Generator<Uint8Array> {
      yield new Uint8Array(1000);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    }
    expect(() => writeFileAtomic(path, failing())).toThrow(/cannot write .*out\.bin: no space left on the device/);
    expect(readFileSync(path, 'utf8')).toBe('previous');
    expect(readdirSync(dir)).toEqual(['out.bin']);
    expect(() => writeFileAtomic(join(dir, 'no', 'such', 'dir.bin'), 'x')).toThrow(RunDirError);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });
});

describe('safetensors files read and written in pieces', () => {
  it('give the bytes and tensors of the in-memory codec, whatever the read size', () => {
    const dir = tempDir('dino-st-');
    const tensors: Record<string, NamedArray> = {
      a: { dtype: 'F32', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 7) },
      b: { dtype: 'I32', shape: [4], data: Int32Array.from([1, -2, 3, -4]) },
      e: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
      h: { dtype: 'F32', shape: [6], data: Float32Array.from([0.5, 1, -2, 1e-3, 65504, 3]) },
    };
    const path = join(dir, 'x.safetensors');
    writeSafetensorsFile(path, tensors, { note: 'hi' }, { floatDtype: (name) => (name === 'h' ? 'F16' : 'F32') });
    const viaMemory = decodeSafetensors(new Uint8Array(readFileSync(path)));
    for (const chunkBytes of [1, 7, 64, 1 << 20]) {
      const viaFile = readSafetensorsFile(path, { chunkBytes });
      expect(viaFile.metadata).toEqual({ note: 'hi' });
      expect(Object.keys(viaFile.tensors)).toEqual(['a', 'b', 'e', 'h']);
      for (const k of Object.keys(tensors)) {
        expect(viaFile.tensors[k].shape).toEqual(viaMemory.tensors[k].shape);
        expect(Array.from(viaFile.tensors[k].data as Float32Array)).toEqual(Array.from(viaMemory.tensors[k].data as Float32Array));
      }
    }
    expect(viaMemory.tensors.h.sourceDtype).toBe('F16');
  });

  // Over Node's 2 GiB readFileSync limit: a few GB of memory and disk, so only when asked.
  it.skipIf(process.env.DINO_BIG_TESTS !== '1')('a checkpoint over 2 GiB is written and read back (DINO_BIG_TESTS=1)', () => {
    const dir = tempDir('dino-big-');
    const n = 600_000_000; // 2.4 GB of F32
    const big = new Float32Array(n);
    big[0] = 1.5;
    big[n - 1] = -2.5;
    const path = join(dir, 'big.safetensors');
    writeSafetensorsFile(path, { big: { dtype: 'F32', shape: [n], data: big }, small: { dtype: 'I32', shape: [2], data: Int32Array.from([7, 8]) } }, { run: 'x' });
    const back = readSafetensorsFile(path);
    const b = back.tensors.big.data as Float32Array;
    expect(b.length).toBe(n);
    expect([b[0], b[1], b[n - 1]]).toEqual([1.5, 0, -2.5]);
    expect(Array.from(back.tensors.small.data as Int32Array)).toEqual([7, 8]);
    expect(back.metadata.run).toBe('x');
  }, 600_000);
});

describe('weights that are not finite', () => {
  it('are reported with a warning by the commands that read them', () => {
    const dir = copyRun(twoSteps);
    const b = bytesOf(dir, 'checkpoint.safetensors');
    const headerLen = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + headerLen).toString('utf8'));
    const [begin] = header['teacher.backbone.norm.weight'].data_offsets;
    b.writeFloatLE(Number.NaN, 8 + headerLen + begin);
    writeFileSync(join(dir, 'checkpoint.safetensors'), b);
    const r = dino(['info', '--backend', 'wasm', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/Warning: .*checkpoint\.safetensors: the teacher backbone holds 1 non-finite value\(s\) \(first in teacher\.backbone\.norm\.weight\)/);
  });
});
