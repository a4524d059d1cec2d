/**
 * Command-line flags generated from the settings schema (config.ts), so every hyperparameter is
 * a flag with its reference default shown in --help, and no default is written twice.
 */
import { Command, Option, InvalidArgumentError } from 'commander';
import { SETTINGS, kebab, PRESETS } from './config';

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

/** Adds one flag per setting (optionally only `keys`, flat names) to `cmd`. */
export function addSettingFlags(cmd: Command, keys: string[] = Object.keys(SETTINGS)): Command {
  for (const key of keys) {
    const { setting: s } = SETTINGS[key];
    const flag = kebab(key);
    const d = s.default;
    const shown = d === undefined ? '' : ` (default: ${Array.isArray(d) ? d.join(',') : String(d)})`;
    const help = `${s.help}${shown}`;
    switch (s.kind) {
      case 'boolean':
        cmd.addOption(new Option(`--${flag}`, help));
        cmd.addOption(new Option(`--no-${flag}`, `turn off --${flag}`).hideHelp());
        break;
      case 'int':
      case 'number':
        cmd.addOption(new Option(`--${flag} <n>`, help).argParser(parseNumber(flag)));
        break;
      case 'pair':
        cmd.addOption(new Option(`--${flag} <lo,hi>`, help).argParser(parsePair(flag)));
        break;
      case 'choice':
        cmd.addOption(new Option(`--${flag} <name>`, help).choices([...s.choices]));
        break;
      case 'string':
        cmd.addOption(new Option(`--${flag} <value>`, help));
        break;
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
