/**
 * The `dino` command. Sub-commands: train, eval (knn | linear | attention | video), embed,
 * export, info. Every hyperparameter of the reference is a flag (see `dino train --help`).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { addSettingFlags, addPresetAndConfigFlags, flagValues } from './flags';
import { resolveConfig, readConfigFile, PRESETS, DEFAULT_PRESET, EVAL_BANK, type TrainConfig } from './config';
import { selectBackend, BACKEND_CHOICES, type BackendChoice } from './backend';
import { describeError } from './errors';
import { EXIT } from './train';
import { DINO_TS_VERSION } from './versions';

function configFrom(opts: Record<string, unknown>): TrainConfig {
  const layers: Record<string, unknown>[] = [];
  // The embedded shapes preset is the default: a run that works anywhere without downloads.
  layers.push(PRESETS[(opts.preset as string | undefined) ?? DEFAULT_PRESET].values);
  if (opts.config) layers.push(readConfigFile(opts.config as string));
  layers.push(flagValues(opts));
  return resolveConfig(layers);
}

async function backendFor(choice: string, quiet = false) {
  const info = await selectBackend(choice as BackendChoice);
  if (!quiet) process.stderr.write(`Backend: ${info.name} — ${info.reason}\n`);
  return info;
}

export function buildProgram(): Command {
  const program = new Command('dino')
    .description('DINO self-supervised training and evaluation of vision transformers on tfjs (Caron et al. 2021).')
    .version(DINO_TS_VERSION, '-V, --version', 'print the dino-ts version')
    .showHelpAfterError('(run with --help for the flags)')
    .exitOverride();

  const train = new Command('train')
    .description('train a DINO model; writes checkpoint.safetensors, metrics.jsonl, report.html and PNGs into --out')
    .option('--resume', 'continue the run saved in --out (its own settings; --backend, --time-limit, --max-iterations may change)')
    .exitOverride();
  addPresetAndConfigFlags(train);
  addSettingFlags(train);
  train.action(async (opts) => {
    const config = configFrom(opts);
    const backend = await backendFor(config.backend);
    const { runTrain } = await import('./train');
    const r = await runTrain({ config, backend, resume: Boolean(opts.resume) });
    process.exitCode = r.exitCode;
  });
  program.addCommand(train);

  const evalCmd = new Command('eval').description('evaluate a trained run (the teacher backbone of --out)').exitOverride();
  for (const [name, desc] of [
    ['knn', 'weighted k-NN (k = 10, 20, 100, 200; T = 0.07) on the held-out split'],
    ['linear', 'linear probe on frozen features (CLS of the last blocks)'],
    ['attention', 'attention maps, 60%-mass masks and their Jaccard against object masks; PNGs'],
    ['video', 'label propagation on moving-shapes videos (J&F)'],
  ] as const) {
    const sub = new Command(name)
      .description(desc)
      .requiredOption('--out <dir>', 'the run directory (holds checkpoint.safetensors)')
      .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join(' | ')}`, 'auto')
      .option('--random', 'evaluate a randomly initialised network of the same architecture instead')
      .option('--data <dir>', 'data directory, when the run used one elsewhere')
      .exitOverride();
    if (name === 'knn' || name === 'linear') {
      sub.option('--bank <n>', `training images used (k-NN memory bank / probe training set); 0: the whole training split, as the reference protocol`, parseBank, EVAL_BANK);
    }
    sub.action(async (o) => {
      const backend = await backendFor(o.backend);
      const { runEval } = await import('./eval-commands');
      process.exitCode = await runEval(name, { dir: o.out, random: Boolean(o.random), backend, data: o.data, bank: o.bank });
    });
    evalCmd.addCommand(sub);
  }
  program.addCommand(evalCmd);

  program.addCommand(
    new Command('embed')
      .description('features of a data set from the teacher backbone, written as safetensors (features, labels)')
      .requiredOption('--out <dir>', 'the run directory')
      .requiredOption('--to <file>', 'output .safetensors file')
      .option('--split <name>', 'train | test', 'test')
      .option('--backend <name>', 'compute backend', 'auto')
      .exitOverride()
      .action(async (o) => {
        const backend = await backendFor(o.backend);
        const { runEmbed } = await import('./eval-commands');
        process.exitCode = await runEmbed({ dir: o.out, to: o.to, split: o.split, backend });
      }),
  );
  program.addCommand(
    new Command('export')
      .description('write the teacher (or student) backbone weights alone, under the reference names, to a .safetensors file PyTorch can load')
      .requiredOption('--out <dir>', 'the run directory')
      .requiredOption('--to <file>', 'output .safetensors file')
      .option('--student', 'export the student instead of the teacher')
      .option('--with-head', 'include the DINO head (names head.*)')
      .exitOverride()
      .action(async (o) => {
        const { runExport } = await import('./eval-commands');
        process.exitCode = await runExport({ dir: o.out, to: o.to, student: Boolean(o.student), withHead: Boolean(o.withHead) });
      }),
  );
  program.addCommand(
    new Command('info')
      .description('backend, versions and model size (for a run directory or a preset)')
      .option('--out <dir>', 'a run directory')
      .option('--preset <name>', 'a preset', 'shapes')
      .option('--backend <name>', 'compute backend', 'auto')
      .version(DINO_TS_VERSION, '-V, --version', 'print the dino-ts version')
      .exitOverride()
      .action(async (o) => {
        const backend = await backendFor(o.backend, true);
        const { runInfo } = await import('./eval-commands');
        process.exitCode = await runInfo({ dir: o.out, preset: o.preset, backend });
      }),
  );
  return program;
}

/** Runs the CLI; returns the exit code (errors become one clear line, not a stack trace). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message (and help for --help, exit 0).
      return e.exitCode === 0 ? 0 : EXIT.badInput;
    }
    // User errors are typed where they are thrown; errors.ts decides, by class, in one place.
    const { text, userError } = describeError(e);
    process.stderr.write(text + '\n');
    return userError ? EXIT.badInput : 1;
  }
}

function parseBank(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--bank needs a whole number of images (0: all), got "${v}".`);
  return n;
}
