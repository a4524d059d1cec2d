/**
 * The kinds of dino-ts error an object is, under a registry-wide symbol. An application that
 * loads both builds of a package (ESM code beside a CommonJS dependency) has two `ConfigError`
 * classes; `instanceof` below compares kinds, so an error thrown by one build is recognised by
 * the other's class.
 */
const KINDS = Symbol.for('@dino-ts/core:error-kinds');

function brand(error: Error, kind: string): void {
  const own = (error as unknown as Record<symbol, string[] | undefined>)[KINDS];
  Object.defineProperty(error, KINDS, { value: [...(own ?? []), kind], configurable: true });
}

/** `v instanceof cls`, where `cls` is `base` itself matched by kind (subclasses as usual). */
function isKind(cls: unknown, base: unknown, v: unknown, kind: string): boolean {
  if (cls !== base) return Function.prototype[Symbol.hasInstance].call(cls, v);
  return typeof v === 'object' && v !== null && ((v as Record<symbol, string[] | undefined>)[KINDS]?.includes(kind) ?? false);
}

/**
 * An invalid setting: names the parameter, the value given and what is allowed, so a user can
 * fix it without reading the source.
 */
export class ConfigError extends Error {
  static override [Symbol.hasInstance](v: unknown): boolean {
    return isKind(this, ConfigError, v, 'ConfigError');
  }

  constructor(
    readonly param: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`Invalid ${param} = ${formatValue(value)}: ${allowed}.`);
    this.name = 'ConfigError';
    brand(this, 'ConfigError');
  }
}

/** A tensor or file with the wrong shape, dtype or content. */
export class ShapeError extends Error {
  static override [Symbol.hasInstance](v: unknown): boolean {
    return isKind(this, ShapeError, v, 'ShapeError');
  }

  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
    brand(this, 'ShapeError');
  }
}

/**
 * Bytes that do not follow their format (a corrupt, truncated or hand-edited safetensors file).
 * The message names the source, the entry and what is wrong with it; `file` holds the source for
 * programs that want it. Same constructor as @dino-ts/data's DataError, so the two can merge.
 */
export class DataError extends Error {
  static override [Symbol.hasInstance](v: unknown): boolean {
    return isKind(this, DataError, v, 'DataError');
  }

  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'DataError';
    brand(this, 'DataError');
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return String(v);
}

/** Throws a ConfigError unless `v` is an integer within [min, max]. */
export function checkInt(param: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new ConfigError(param, v, `must be ${range}`);
  }
}

/** Throws a ConfigError unless `v` is a finite number within the range (open or closed ends). */
export function checkNumber(
  param: string,
  v: number,
  opts: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean } = {},
): void {
  const { min = -Infinity, max = Infinity, minExclusive = false, maxExclusive = false } = opts;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (minExclusive ? v > min : v >= min) &&
    (maxExclusive ? v < max : v <= max);
  if (!ok) {
    const lo = min === -Infinity ? '' : `${minExclusive ? '>' : '>='} ${min}`;
    const hi = max === Infinity ? '' : `${maxExclusive ? '<' : '<='} ${max}`;
    throw new ConfigError(param, v, `must be a finite number ${[lo, hi].filter(Boolean).join(' and ')}`.trim());
  }
}

/** Throws a ConfigError unless `v` is one of `choices`. */
export function checkChoice<T extends string>(param: string, v: string, choices: readonly T[]): asserts v is T {
  if (!choices.includes(v as T)) {
    throw new ConfigError(param, v, `must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`);
  }
}

/**
 * Merges options over defaults, ignoring keys that are present but `undefined`: a caller that
 * forwards an unset CLI flag (`{ dir: undefined }`) gets the default, not `undefined`.
 */
export function withDefaults<D extends object, O extends object>(defaults: D, options: O | undefined): D & O {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(options ?? {})) if (v !== undefined) out[k] = v;
  return out as D & O;
}

/**
 * Runs `fn`, naming the parameter of any ConfigError it throws under `prefix`: a part built
 * from a sub-config (the trainer's `head`) reports `head.outDim`, as the caller's config names it.
 */
export function withConfigPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${prefix}${e.param}`, e.value, e.allowed);
    throw e;
  }
}
