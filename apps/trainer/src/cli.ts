/**
 * The `dino` command. Sub-commands: train, eval (knn | linear | attention | video), embed,
 * export, info. Every hyperparameter of the reference is a flag (see `dino train --help`).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError } from '@dino-ts/core';
import { addSettingFlags, addPresetAndConfigFlags, flagValues } from './flags';
import { resolveConfig, readConfigFile, PRESETS, DEFAULT_PRESET, EVAL_BANK, type TrainConfig } from './config';
import { selectBackend, BACKEND_CHOICES, type BackendChoice } from './backend';
import { describeError } from './errors';
import { checkOutputFile } from './run-dir';
import { EXIT } from './train';
import { DINO_TS_VERSION } from './versions';

function configFrom(opts: Record<string, unknown>): { config: TrainConfig; given: Record<string, unknown> } {
  const layers: Record<string, unknown>[] = [];
  // The embedded shapes preset is the default: a run that works anywhere without downloads. A
  // reference checkpoint's settings (--resume-from) replace it unless a preset is asked for.
  if (opts.preset || !opts.referenceSettings) layers.push(PRESETS[(opts.preset as string | undefined) ?? DEFAULT_PRESET].values);
  if (opts.referenceSettings) layers.push(opts.referenceSettings as Record<string, unknown>);
  if (opts.config) layers.push(readConfigFile(opts.config as string));
  layers.push(flagValues(opts));
  // What the user asked for explicitly (the default preset is not asked for): --resume refuses
  // any of it that contradicts the run it continues.
  const given = Object.assign({}, ...layers.slice(opts.preset ? 0 : 1)) as Record<string, unknown>;
  return { config: resolveConfig(layers), given };
}

async function backendFor(choice: string, quiet = false, threads?: number) {
  const info = await selectBackend(choice as BackendChoice, { threads });
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
    .option('--overwrite', 'start a new run in an --out that already holds one, replacing its checkpoint, metrics and report')
    .option('--resume-from <file>', "continue a run of the reference's main_dino.py from its checkpoint.pth: its settings and networks, at its epoch (give the data and anything else to change as flags)")
    .exitOverride();
  addPresetAndConfigFlags(train);
  addSettingFlags(train);
  train.action(async (opts) => {
    let from: { bytes: Uint8Array; source: string } | undefined;
    if (opts.resumeFrom) {
      // The reference run's settings take the preset's place: flags and a config file still win.
      const { readReferenceRun } = await import('./reference-resume');
      const ref = readReferenceRun(opts.resumeFrom, { numHeads: opts.numHeads });
      process.stderr.write(`${ref.summary}\n`);
      from = { bytes: ref.bytes, source: ref.source };
      opts = { ...opts, referenceSettings: ref.settings };
    }
    const { config, given } = configFrom(opts);
    const backend = await backendFor(config.backend, false, config.threads);
    const { runTrain } = await import('./train');
    const r = await runTrain({ config, backend, resume: Boolean(opts.resume), overwrite: Boolean(opts.overwrite), given, from });
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
    weightsOptions(
      new Command('embed')
        .description("CLS features: of a run's data set (--out RUN, safetensors with labels), or of any weights file on a folder of pictures (--weights FILE --images DIR, .npy or .safetensors)")
        .option('--out <dir>', 'the run directory')
        .requiredOption('--to <file>', 'output file: .safetensors, or .npy with --weights')
        .option('--split <name>', 'train | test (with --out)', 'test')
        .option('--backend <name>', 'compute backend', 'auto')
        .option('--data <dir>', 'data directory, when the run used one elsewhere')
        .option('--weights <file>', 'a weights file instead of a run: .pth / .pt (published or a reference checkpoint) or .safetensors (reference or Hugging Face names)')
        .option('--images <dir>', 'with --weights: a flat folder of pictures, embedded in file-name order')
        .option('--batch-size <n>', 'pictures per forward pass', parseCount('--batch-size'), 32),
    )
      .exitOverride()
      .action(async (o) => {
        if (Boolean(o.out) === Boolean(o.weights)) throw new ConfigError('embed', o.out ? '--out and --weights' : 'neither --out nor --weights', 'needs exactly one of --out RUN or --weights FILE --images DIR');
        const backend = await backendFor(o.backend);
        if (o.weights) {
          if (!o.images) throw new ConfigError('--images', 'missing', 'is needed with --weights: a folder of pictures');
          const { runEmbedWeights } = await import('./weights-commands');
          process.exitCode = await runEmbedWeights({ weights: o.weights, images: o.images, to: o.to, key: o.key, numHeads: o.numHeads, resize: o.resize, normalize: o.normalize, batchSize: o.batchSize });
          return;
        }
        const { runEmbed } = await import('./eval-commands');
        process.exitCode = await runEmbed({ dir: o.out, to: o.to, split: o.split, backend, data: o.data });
      }),
  );
  program.addCommand(
    weightsOptions(
      new Command('attention')
        .description("visualize_attention.py's pictures for every picture of a folder: per-head attention maps, their mean, and the masks keeping --threshold of the mass")
        .requiredOption('--weights <file>', 'a weights file: .pth / .pt or .safetensors')
        .requiredOption('--images <dir>', 'a flat folder of pictures')
        .requiredOption('--out <dir>', 'output folder (one sub-folder per picture)')
        .option('--threshold <t>', 'mass kept by the masks', parseFraction('--threshold'), 0.6)
        .option('--backend <name>', 'compute backend', 'auto'),
    )
      .exitOverride()
      .action(async (o) => {
        await backendFor(o.backend);
        const { runAttention } = await import('./weights-commands');
        process.exitCode = await runAttention({ weights: o.weights, images: o.images, out: o.out, key: o.key, numHeads: o.numHeads, threshold: o.threshold, resize: o.resize, normalize: o.normalize });
      }),
  );
  program.addCommand(
    new Command('convert')
      .description('any readable weights file to safetensors (reference or Hugging Face names), .pth or ONNX: dino convert IN OUT')
      .argument('<in>', 'a weights file: .pth / .pt or .safetensors')
      .argument('<out>', 'output file: .safetensors, .pth / .pt or .onnx')
      .option('--format <name>', 'safetensors | pth | onnx (default: from the output name)')
      .option('--names <naming>', 'safetensors names: reference | huggingface', 'reference')
      .option('--key <name>', 'which network of a training checkpoint: teacher (default) | student')
      .option('--num-heads <n>', 'attention heads (default: width / 64, as the published models)', parseCount('--num-heads'))
      .option('--backend <name>', 'compute backend (ONNX export builds the model)', 'auto')
      .exitOverride()
      .action(async (input: string, output: string, o) => {
        await backendFor(o.backend, true);
        const { runConvert } = await import('./weights-commands');
        process.exitCode = await runConvert({ input, output, format: o.format, key: o.key, numHeads: o.numHeads, names: o.names });
      }),
  );
  program.addCommand(
    new Command('export')
      .description("write a run's teacher (or student) backbone under the reference names (.safetensors, .pth), as ONNX, or the whole training state as main_dino.py's checkpoint.pth (--format reference-checkpoint)")
      .requiredOption('--out <dir>', 'the run directory')
      .requiredOption('--to <file>', 'output file: .safetensors, .pth / .pt, .onnx')
      .option('--format <name>', 'safetensors | pth | onnx | reference-checkpoint (default: from the output name)')
      .option('--names <naming>', 'safetensors names: reference | huggingface', 'reference')
      .option('--student', 'export the student instead of the teacher')
      .option('--with-head', 'include the DINO head (names head.*; safetensors)')
      .option('--backend <name>', 'compute backend (pth and ONNX rebuild the model)', 'auto')
      .exitOverride()
      .action(async (o) => {
        const { formatFor, runExportFormat } = await import('./weights-commands');
        const format = formatFor(o.to, o.format);
        // Whatever the format: never over a run's own files, a folder or a device, and before any work.
        checkOutputFile(o.to, { runDir: o.out });
        if (o.names !== 'reference' && o.names !== 'huggingface') throw new ConfigError('--names', o.names, 'must be reference or huggingface');
        if (format === 'safetensors') {
          // The checkpoint's tensors as they are, renamed if asked: no model to build.
          const { runExport } = await import('./eval-commands');
          process.exitCode = await runExport({ dir: o.out, to: o.to, student: Boolean(o.student), withHead: Boolean(o.withHead), names: o.names });
          return;
        }
        if (o.withHead) throw new ConfigError('--with-head', true, 'is for safetensors');
        await backendFor(o.backend, true);
        process.exitCode = await runExportFormat({ dir: o.out, to: o.to, format, student: Boolean(o.student) });
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
        const { backendReport } = await import('./gpu-backends');
        process.exitCode = await runInfo({ dir: o.out, preset: o.preset, backend, backends: backendReport(backend.name) });
      }),
  );
  // commander's own errors (an unknown option, a bad choice) read like the command's: one
  // "Error: ..." line. Subcommands built apart from the program do not inherit this: each gets it.
  const oneLineErrors = (cmd: Command) => {
    cmd.configureOutput({ outputError: (text, write) => write(text.replace(/^error: /i, 'Error: ').replace(/\s*\n\s*/g, ' ').trim() + '\n') });
    cmd.commands.forEach(oneLineErrors);
  };
  oneLineErrors(program);
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

/** The options every command that reads a weights file or pictures shares. */
function weightsOptions(cmd: Command): Command {
  return cmd
    .option('--key <name>', 'which network of a training checkpoint: teacher (default) | student')
    .option('--num-heads <n>', 'attention heads (default: width / 64, as the published models)', parseCount('--num-heads'))
    .option('--resize <mode>', 'pictures not of the input size: short-side (256/224 then centre crop, as the reference) | squash | none', 'short-side')
    .option('--normalize <how>', 'imagenet | none | MEAN,STD | M1,M2,M3,S1,S2,S3', 'imagenet');
}

function parseCount(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} needs a whole number >= 1, got "${v}".`);
    return n;
  };
}

function parseFraction(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`${flag} needs a number between 0 and 1, got "${v}".`);
    return n;
  };
}

function parseBank(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--bank needs a whole number of images (0: all), got "${v}".`);
  return n;
}
