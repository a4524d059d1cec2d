/**
 * Settings: each hyperparameter declared once, by the package whose formula uses it, with its
 * default, its allowed values, a help text and the reference's name for it. From those
 * declarations the package validates what a user passes (`resolveSettings`), and an application
 * builds its command-line flags, help and config-file schema, so no default, range or help text
 * is written twice.
 *
 * Plain objects and no validation library: the declarations ship in browser bundles.
 */
import { ConfigError } from './errors';

interface SettingBase<T> {
  /** One line for --help. */
  help: string;
  /** The default; `undefined` for an optional setting without one. */
  default: T;
  /**
   * The command-line name when it differs from the key (the reference's flag names a setting
   * from the outside: the head's `useBn` is main_dino.py's `--use_bn_in_head`). camelCase.
   */
  flag?: string;
}

interface Range {
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

export interface IntSetting<T extends number | undefined = number | undefined> extends SettingBase<T>, Range {
  kind: 'int';
}
export interface NumberSetting<T extends number | undefined = number | undefined> extends SettingBase<T>, Range {
  kind: 'number';
}
export interface BooleanSetting extends SettingBase<boolean> {
  kind: 'boolean';
}
export interface StringSetting<T extends string | undefined = string | undefined> extends SettingBase<T> {
  kind: 'string';
}
export interface ChoiceSetting<C extends string = string> extends SettingBase<C> {
  kind: 'choice';
  choices: readonly C[];
}
/** An ordered pair of numbers in a range, such as a crop's area scale [lo, hi]. */
export interface PairSetting extends SettingBase<readonly [number, number]>, Range {
  kind: 'pair';
}

export type Setting = IntSetting | NumberSetting | BooleanSetting | StringSetting | ChoiceSetting | PairSetting;
export type SettingsSpec = Readonly<Record<string, Setting>>;

/** The value type a setting declares. */
export type SettingValue<S> = S extends SettingBase<infer T> ? T : never;
/** The values of a whole spec, every setting resolved. */
export type SettingsOf<S extends SettingsSpec> = { -readonly [K in keyof S]: SettingValue<S[K]> };
/** What a caller may pass: any subset; `undefined` means the default. */
export type SettingsInput<S extends SettingsSpec> = { [K in keyof S]?: SettingValue<S[K]> | undefined };

type Opts = Range & { flag?: string };

// Overloads, not a generic default: a generic would infer the literal `0.04` as the type.
function int(def: number, help: string, opts?: Opts): IntSetting<number>;
function int(def: undefined, help: string, opts?: Opts): IntSetting<number | undefined>;
function int(def: number | undefined, help: string, opts: Opts = {}): IntSetting {
  return { kind: 'int', default: def, help, ...opts };
}
function number(def: number, help: string, opts?: Opts): NumberSetting<number>;
function number(def: undefined, help: string, opts?: Opts): NumberSetting<number | undefined>;
function number(def: number | undefined, help: string, opts: Opts = {}): NumberSetting {
  return { kind: 'number', default: def, help, ...opts };
}
function string(def: string, help: string, opts?: { flag?: string }): StringSetting<string>;
function string(def: undefined, help: string, opts?: { flag?: string }): StringSetting<string | undefined>;
function string(def: string | undefined, help: string, opts: { flag?: string } = {}): StringSetting {
  return { kind: 'string', default: def, help, ...opts };
}

/** Builders that keep each declaration to one line and its value type exact. */
export const setting = {
  int,
  number,
  string,
  /** A `flag` given here is kept as a literal type, so an app's flat config is typed by it. */
  boolean<const F extends string | undefined = undefined>(def: boolean, help: string, opts: { flag?: F } = {}): BooleanSetting & { flag: F } {
    return { kind: 'boolean', default: def, help, ...opts } as BooleanSetting & { flag: F };
  },
  choice<const C extends string>(choices: readonly C[], def: NoInfer<C>, help: string, opts: { flag?: string } = {}): ChoiceSetting<C> {
    return { kind: 'choice', choices, default: def, help, ...opts };
  },
  pair(def: readonly [number, number], help: string, opts: Opts = {}): PairSetting {
    return { kind: 'pair', default: def, help, ...opts };
  },
};

/** The name a setting has in a flat configuration (its `flag`, else its key). */
export type FlatKey<K extends string, S> = S extends { flag: infer F extends string } ? F : K;
/** A spec's values keyed by their flat names. */
export type FlatSettingsOf<S extends SettingsSpec> = { -readonly [K in keyof S & string as FlatKey<K, S[K]>]: SettingValue<S[K]> };

/** The defaults of a spec (optional settings without one are left out). */
export function defaultsOf<S extends SettingsSpec>(spec: S): SettingsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  return out as SettingsOf<S>;
}

function rangeText(r: Range, what: string): string {
  const lo = r.min === undefined ? '' : `${r.minExclusive ? '>' : '>='} ${r.min}`;
  const hi = r.max === undefined ? '' : `${r.maxExclusive ? '<' : '<='} ${r.max}`;
  return [`must be ${what}`, [lo, hi].filter(Boolean).join(' and ')].filter(Boolean).join(' ');
}

function inRange(v: number, r: Range): boolean {
  if (r.min !== undefined && (r.minExclusive ? !(v > r.min) : !(v >= r.min))) return false;
  if (r.max !== undefined && (r.maxExclusive ? !(v < r.max) : !(v <= r.max))) return false;
  return true;
}

/**
 * Why `value` is not allowed for `s`, or null when it is. The text completes
 * "Invalid <name> = <value>: ...", the ConfigError's sentence.
 */
export function settingProblem(s: Setting, value: unknown): string | null {
  switch (s.kind) {
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) && inRange(value, s) ? null : rangeText(s, 'an integer');
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && inRange(value, s) ? null : rangeText(s, 'a finite number');
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'string':
      return typeof value === 'string' && value.length > 0 ? null : 'must be a non-empty string';
    case 'choice':
      return typeof value === 'string' && s.choices.includes(value) ? null : `must be one of ${s.choices.map((c) => JSON.stringify(c)).join(', ')}`;
    case 'pair': {
      const ok =
        Array.isArray(value) &&
        value.length === 2 &&
        value.every((v) => typeof v === 'number' && Number.isFinite(v) && inRange(v, s)) &&
        value[0] <= value[1];
      return ok ? null : `${rangeText(s, 'two finite numbers lo <= hi,')}`.replace(/,$/, '');
    }
  }
}

/**
 * The settings of `spec` from what a caller gave: defaults for what is missing or `undefined`,
 * each value checked; unknown keys refused (a misspelt setting must not be ignored silently).
 * Errors are ConfigErrors naming `prefix + key`.
 */
export function resolveSettings<S extends SettingsSpec>(spec: S, given: SettingsInput<S> | undefined, prefix = ''): SettingsOf<S> {
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw new ConfigError(prefix.replace(/\.$/, '') || 'settings', given, 'must be an object');
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(given ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(spec, k)) {
      throw new ConfigError(`${prefix}${k}`, (given as Record<string, unknown>)[k], `is not a setting; the settings are ${Object.keys(spec).join(', ')}`);
    }
  }
  for (const [k, s] of Object.entries(spec)) {
    const v = (given as Record<string, unknown> | undefined)?.[k];
    const value = v === undefined ? s.default : v;
    if (value === undefined) continue;
    const problem = settingProblem(s, value);
    if (problem) throw new ConfigError(`${prefix}${k}`, value, problem);
    out[k] = value;
  }
  return out as SettingsOf<S>;
}
