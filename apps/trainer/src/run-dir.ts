/**
 * A run directory as a thing with an owner: one `dino train` at a time holds it (a lock file,
 * taken atomically), a run in it is replaced only when asked (`--overwrite`), and no other
 * command writes over its files. Also the checks that an output path can be written, made before
 * any work starts, so a bad `--out` or `--to` costs a second, not a training run.
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { RunDirError } from './errors';

/** The lock file of a run directory. */
export const LOCK_FILE = '.dino-train.lock';

/**
 * The files a training run owns in its directory: what `--overwrite` replaces, what marks a
 * directory as holding a run, and what `export` / `embed` (or anything else given an output
 * path) must never write over.
 */
export const RUN_FILES = [
  'checkpoint.safetensors',
  'checkpoint.json',
  'metrics.jsonl',
  'report.html',
  'evaluation.json',
  'loss.png',
  'knn.png',
  'entropy.png',
  'lr.png',
  'schedules.png',
  'attention.png',
  'attention-random.png',
  'neighbours.png',
  'neighbours-random.png',
] as const;

/** The files whose presence means a run was started in a directory (the report alone is not one). */
const RUN_MARKERS = ['checkpoint.safetensors', 'checkpoint.json', 'metrics.jsonl'];

/** What the lock file says about its owner. */
export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  /** The owner's start time in clock ticks since boot (Linux), to tell a reused pid from the owner. */
  procStart?: string;
  command?: string;
}

/** Temporary files of the atomic writer: `.<name>.<pid>.tmp` (see atomic.ts). */
export const TEMP_FILE = /^\.(.+)\.(\d+)\.tmp$/;

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** Why a path cannot be written, in words, for the errno codes a user can do something about. */
export function describeWriteFailure(e: unknown): string {
  const code = errnoOf(e);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left on the device';
    case 'EROFS':
      return 'the file system is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENOENT':
      return 'a part of the path does not exist';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return (e as Error)?.message ?? String(e);
  }
}

/** The start time of process `pid` (field 22 of /proc/PID/stat), where the system has /proc. */
function procStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether `pid` names a live process (a process of another user counts as alive). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

/** Whether the owner a lock names is certainly gone: same host, and its pid dead or reused. */
function ownerGone(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  if (!pidAlive(owner.pid)) return true;
  const now = procStartOf(owner.pid);
  return owner.procStart !== undefined && now !== undefined && now !== owner.procStart;
}

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return o && typeof o === 'object' && Number.isSafeInteger(o.pid) && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

export interface RunLock {
  /** Removes the lock (only while it is still this process's). */
  release(): void;
}

/**
 * Takes the lock of run directory `dir` (which must exist) for this process. The lock file is
 * written in full under a private name, then hard-linked to its real name: the link either
 * appears whole or fails because the lock exists, so a second trainer can never see a half
 * written lock or both take it. A lock whose owner is gone (same host, pid dead or reused) is
 * stale: it is removed, with a note, and taken. A live owner's lock is a RunDirError naming it.
 */
export function acquireRunLock(dir: string, log: (line: string) => void = () => {}): RunLock {
  const path = join(dir, LOCK_FILE);
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    procStart: procStartOf(process.pid),
    command: 'dino train',
  };
  const text = JSON.stringify(owner) + '\n';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, text, dir)) {
      const release = () => {
        process.off('exit', release);
        // Someone may have removed a lock they thought stale and taken it: leave theirs alone.
        if (readOwner(path)?.pid === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
        }
      };
      // A process that ends through process.exit() (a second Ctrl-C) still frees its directory.
      process.on('exit', release);
      return { release };
    }
    const held = readOwner(path);
    if (held && !ownerGone(held)) {
      throw new RunDirError(
        `${dir} is in use by ${held.command ?? 'another dino train'} (pid ${held.pid} on ${held.host}, started ${held.startedAt}): ` +
          `wait for it to end or stop it; if that process is gone, remove ${path}.`,
        dir,
      );
    }
    if (!held) {
      // Unreadable: not written by this code in full (linking publishes only whole files), or
      // damaged. Old enough, it is debris; fresh, another writer may be mid-way (an older dino).
      const age = Date.now() - safeMtime(path);
      if (age < 10_000) {
        throw new RunDirError(`${dir} has a lock file (${path}) that cannot be read: another trainer may be starting; try again, or remove it if none is.`, dir);
      }
    }
    log(`Note: removing the stale lock of ${held ? `pid ${held.pid} (started ${held.startedAt}), which is no longer running` : 'an unreadable lock file'} in ${dir}.`);
    try {
      unlinkSync(path);
    } catch {
      /* someone else removed it first: try again */
    }
  }
  throw new RunDirError(`${dir}: could not take the run lock ${path} after removing a stale one; another trainer is starting there.`, dir);
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Creates `path` holding `text` if it does not exist; false if it does. */
function tryCreate(path: string, text: string, dir: string): boolean {
  // Named as the atomic writer names its temporary files, so a kill here leaves debris the next
  // trainer removes (removeStaleTemps).
  const tmp = `${path}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    writeSync(fd, text);
    closeSync(fd);
    fd = undefined;
    try {
      linkSync(tmp, path);
      return true;
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS'].includes(errnoOf(e) ?? '')) throw e;
      // A file system without hard links: an exclusive create is atomic too, though a crash can
      // leave the file empty (then it reads as unreadable, and is removed once old).
      const lfd = openSync(path, 'wx');
      try {
        writeSync(lfd, text);
      } finally {
        closeSync(lfd);
      }
      return true;
    }
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    throw new RunDirError(`cannot write in ${dir} (creating ${basename(path)}): ${describeWriteFailure(e)}.`, dir);
  } finally {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
  }
}

/**
 * Removes the atomic writer's temporary files in `dir` left by processes that are gone (a kill
 * or a power cut during a write); a live process's are left alone. Called by the directory's
 * owner, under its lock.
 */
export function removeStaleTemps(dir: string, log: (line: string) => void = () => {}): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    // This process has written nothing yet, so a file under its pid is a previous owner's.
    if (pid !== process.pid && pidAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      log(`Note: removed ${name}, an unfinished write of a process that is gone.`);
    } catch {
      /* gone already */
    }
  }
}

/** The run files present in `dir`. */
export function runFilesIn(dir: string): string[] {
  return RUN_FILES.filter((f) => existsSync(join(dir, f)));
}

/** Whether `dir` holds (the start of) a training run. */
export function holdsRun(dir: string): boolean {
  return RUN_MARKERS.some((f) => existsSync(join(dir, f)));
}

/** Deletes the run files of `dir` (for `--overwrite`, once everything else has been checked). */
export function removeRunFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const f of runFilesIn(dir)) {
    try {
      unlinkSync(join(dir, f));
      removed.push(f);
    } catch (e) {
      throw new RunDirError(`cannot remove ${join(dir, f)} for --overwrite: ${describeWriteFailure(e)}.`, dir);
    }
  }
  return removed;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFile()) return 'a file';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** `statSync` that answers undefined for a path that does not exist, and a RunDirError for one that cannot be looked at. */
function statOrUndefined(path: string, what: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw new RunDirError(`${what} ${path} cannot be used: ${describeWriteFailure(e)}.`, path);
  }
}

/**
 * Makes sure `dir` is (or can be made) a folder this process writes in, creating it if needed.
 * A path that is a file, under a file, or on a read-only or full device is a RunDirError.
 */
export function prepareOutputDir(dir: string, flag = '--out'): void {
  checkPathText(dir, flag);
  const st = statOrUndefined(dir, flag);
  if (st && !st.isDirectory()) {
    throw new RunDirError(`${flag} ${dir} is ${kindOf(st)}, not a folder: pass a new or existing folder for the run.`, dir);
  }
  if (!st) {
    try {
      makeDirs(dir);
    } catch (e) {
      throw new RunDirError(`${flag} ${dir} cannot be created: ${describeWriteFailure(e)}.`, dir);
    }
  }
}

/**
 * `mkdir -p` one level at a time from the nearest existing ancestor. (Node's recursive mkdir
 * loops forever on some paths the kernel refuses in an unusual way, such as /proc/self/x.)
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    try {
      statSync(p);
      break;
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
      const up = dirname(p);
      if (up === p) break;
      missing.push(p);
      p = up;
    }
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e;
    }
  }
}

/** A run directory that a command reads: it must exist and be a folder. */
export function checkRunDirExists(dir: string, flag = '--out'): void {
  checkPathText(dir, flag);
  const st = statOrUndefined(dir, flag);
  if (!st) throw new RunDirError(`${flag} ${dir} does not exist: pass the folder of a run (where \`dino train --out\` wrote it).`, dir);
  if (!st.isDirectory()) throw new RunDirError(`${flag} ${dir} is ${kindOf(st)}, not a run folder: pass the folder that holds checkpoint.safetensors.`, dir);
}

/** Paths come from flags and files: no NUL byte (the OS would refuse it with a TypeError) and not absurdly long. */
export function checkPathText(path: string, flag: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new RunDirError(`${flag} needs a path.`, String(path));
  if (path.includes('\0')) throw new RunDirError(`${flag} ${JSON.stringify(path)} holds a NUL character, which no file name may.`, path);
  if (path.length > 4096) throw new RunDirError(`${flag} is ${path.length} characters long; paths are at most 4096.`, path.slice(0, 64));
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
function realish(p: string): string {
  const abs = resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return abs;
      tail.push(basename(head));
      head = up;
    }
  }
}

/**
 * Checks an output file path (`export --to`, `embed --to`, and any future `--to`) before any
 * work: not a folder or a device, its folder existing or creatable and writable, and not one of a
 * run's own files (followed through links), so an export can never replace the checkpoint it
 * came from. Creates the missing folders. `runDir` is the run the command reads, if any.
 */
export function checkOutputFile(to: string, opts: { flag?: string; runDir?: string } = {}): void {
  const flag = opts.flag ?? '--to';
  checkPathText(to, flag);
  const st = statOrUndefined(to, flag);
  if (st && !st.isFile()) throw new RunDirError(`${flag} ${to} is ${kindOf(st)}: pass the path of a file to write.`, to);
  const target = realish(to);
  const dir = dirname(target);
  const name = basename(target);
  const isRunFile = (RUN_FILES as readonly string[]).includes(name) || name === LOCK_FILE || TEMP_FILE.test(name);
  if (isRunFile && (holdsRun(dir) || (opts.runDir !== undefined && realish(opts.runDir) === dir))) {
    throw new RunDirError(`${flag} ${to} is the run file ${name} of ${dir}: a run's own files are never written over; pass another name.`, to);
  }
  if (opts.runDir !== undefined && realish(opts.runDir) === target) {
    throw new RunDirError(`${flag} ${to} is the run folder itself: pass the path of a file to write.`, to);
  }
  const dst = statOrUndefined(dirname(resolve(to)), flag);
  if (dst && !dst.isDirectory()) throw new RunDirError(`${flag} ${to}: ${dirname(to)} is ${kindOf(dst)}, not a folder.`, to);
  if (!dst) {
    try {
      makeDirs(dirname(resolve(to)));
    } catch (e) {
      throw new RunDirError(`${flag} ${to}: its folder cannot be created: ${describeWriteFailure(e)}.`, to);
    }
  }
  probeWritable(dirname(resolve(to)), flag, to);
}

/** Creates and removes a file in `dir`: the one test of writability that holds for root and for read-only mounts alike. */
function probeWritable(dir: string, flag: string, shown: string): void {
  const probe = join(dir, `.dino-probe.${process.pid}.tmp`);
  try {
    closeSync(openSync(probe, 'w'));
  } catch (e) {
    throw new RunDirError(`${flag} ${shown} cannot be written: ${describeWriteFailure(e)}.`, shown);
  }
  try {
    unlinkSync(probe);
  } catch {
    /* removed by someone else */
  }
}
