/**
 * Command-line flags generated from the settings schema (config.ts), so every hyperparameter is
 * a flag with its reference default shown in --help, and no default is written twice.
 */
import { Command, Option, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { SETTINGS, kebab, PRESETS } from './config';

function innerType(s: z.ZodTypeAny): z.ZodTypeAny {
  let t = s;
  while (t instanceof z.ZodDefault || t instanceof z.ZodOptional) t = t._def.innerType;
  return t;
}

function defaultOf(s: z.ZodTypeAny): unknown {
  return s instanceof z.ZodDefault ? s._def.defaultValue() : undefined;
}

function parseNumber(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`--${flag} needs a number, got "${v}".`);
    return n;
  };
}

function parsePair(flag: string) {
  return (v: string) => {
    const parts = v.split(',').map((p) => Number(p.trim()));
    if (parts.length !== 2 || parts.some((n) => !Number.isFinite(n))) {
      throw new InvalidArgumentError(`--${flag} needs two numbers separated by a comma, e.g. 0.4,1; got "${v}".`);
    }
    return parts;
  };
}

/** Adds one flag per setting (optionally only `keys`) to `cmd`. */
export function addSettingFlags(cmd: Command, keys: (keyof typeof SETTINGS)[] = Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]): Command {
  for (const key of keys) {
    const [schema, help] = SETTINGS[key] as unknown as [z.ZodTypeAny, string];
    const flag = kebab(key);
    const t = innerType(schema);
    const d = defaultOf(schema);
    const shown = d === undefined ? '' : ` (default: ${Array.isArray(d) ? d.join(',') : String(d)})`;
    if (t instanceof z.ZodBoolean) {
      cmd.addOption(new Option(`--${flag}`, `${help}${shown}`));
      cmd.addOption(new Option(`--no-${flag}`, `turn off --${flag}`).hideHelp());
    } else if (t instanceof z.ZodNumber) {
      cmd.addOption(new Option(`--${flag} <n>`, `${help}${shown}`).argParser(parseNumber(flag)));
    } else if (t instanceof z.ZodTuple) {
      cmd.addOption(new Option(`--${flag} <lo,hi>`, `${help}${shown}`).argParser(parsePair(flag)));
    } else if (t instanceof z.ZodEnum) {
      cmd.addOption(new Option(`--${flag} <name>`, `${help}${shown}`).choices(t._def.values as string[]));
    } else {
      cmd.addOption(new Option(`--${flag} <value>`, `${help}${shown}`));
    }
  }
  return cmd;
}

export function addPresetAndConfigFlags(cmd: Command): Command {
  cmd.addOption(
    new Option('--preset <name>', `settings for a data set (default: shapes), applied before the config file and flags: ${Object.entries(PRESETS).map(([k, p]) => `${k} (${p.description})`).join('; ')}`).choices(Object.keys(PRESETS)),
  );
  cmd.option('--config <file>', 'JSON or YAML file of settings (keys as the flags, camelCase or kebab-case)');
  return cmd;
}

/** The settings given on the command line (commander leaves absent flags undefined). */
export function flagValues(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS)) if (opts[key] !== undefined) out[key] = opts[key];
  return out;
}
