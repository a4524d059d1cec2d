/**
 * The `dino` command's error classes, and the one place that decides what is a user's mistake.
 *
 * A user's mistake (a bad flag or config file, a data file or checkpoint that is not what it
 * should be, a run directory that cannot be used, a backend that is not installed) ends in one
 * line on stderr and exit code 2. Anything else is a bug in dino-ts: its stack trace is printed
 * and the exit code is 1. `DINO_DEBUG=1` prints the stack of user errors too.
 */
import { ConfigError, DataError, ShapeError } from '@dino-ts/core';

/** A run directory that cannot be used as asked: no checkpoint to resume, not writable, ... */
export class RunDirError extends Error {
  constructor(
    message: string,
    readonly dir: string,
  ) {
    super(message);
    this.name = 'RunDirError';
  }
}

/** A configuration file or a combination of settings that cannot be used. */
export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/** A compute backend that is not installed or cannot start here; `hint` says how to get it. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly hint: string,
  ) {
    super(`Backend "${backend}" is not available: ${hint}`);
    this.name = 'BackendUnavailableError';
  }
}

const USER_ERRORS = [ConfigError, DataError, ShapeError, RunDirError, ConfigFileError, BackendUnavailableError] as const;

/**
 * Failures of the machine rather than of dino-ts: a full disk, a read-only or forbidden folder,
 * too many open files. Wherever one escapes the places that word it themselves, it is still the
 * user's to fix (free space, pick another folder), so it gets one line and exit 2, not a stack.
 */
const SYSTEM_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'EMFILE', 'ENFILE', 'ELOOP']);

function isSystemError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return e instanceof Error && typeof code === 'string' && SYSTEM_CODES.has(code) && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** Whether `e` is a user's mistake (exit 2, one line) rather than a bug (exit 1, stack trace). */
export function isUserError(e: unknown): e is Error {
  // A full wasm heap (@dino-ts/wasm-kernels' WasmOutOfMemoryError, by name: the kernels are
  // loaded lazily) is fixed by smaller batches, which its message says.
  if (e instanceof Error && e.name === 'WasmOutOfMemoryError') return true;
  return USER_ERRORS.some((cls) => e instanceof cls) || isSystemError(e);
}

/** How `e` is shown: one line for a user error, the stack for a bug or with DINO_DEBUG=1. */
export function describeError(e: unknown, debug = process.env.DINO_DEBUG === '1'): { text: string; userError: boolean } {
  const userError = isUserError(e);
  const err = e instanceof Error ? e : new Error(String(e));
  // One line, always: messages that list several problems (or files) put them on one line, so a
  // script reading stderr sees a single `Error:` line.
  const oneLine = err.message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .reduce((text, l) => (text === '' ? l : text.endsWith(':') ? `${text} ${l}` : `${text}; ${l}`), '');
  const text = userError && !debug ? `Error: ${oneLine}` : `Error: ${err.stack ?? err.message}`;
  return { text, userError };
}
