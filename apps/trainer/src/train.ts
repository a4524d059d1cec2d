/**
 * `dino train`: the reference training loop (main_dino.py train_dino / train_one_epoch) composed
 * from the packages, with the things a user needs around it: checkpoints that never lose work,
 * resume, a stop on a non-finite loss, a collapse watch, progress, metrics and a report.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, ShapeError } from '@dino-ts/core';
import { join } from 'node:path';
import { DinoTrainer, NonFiniteLossError, collapseSign, describeCollapse, paramGroups, type DinoStepMetrics } from '@dino-ts/dino';
import { IMAGENET_MEAN, IMAGENET_STD } from '@dino-ts/augment';
import { readReferenceCheckpoint } from '@dino-ts/weights';
import { DataLoader } from '@dino-ts/data';
import { kebab, MAX_TOTAL_ITERATIONS, type TrainConfig } from './config';
import { checkDataSource, openDatasets, type OpenedData } from './datasets';
import { saveCheckpoint, readCheckpoint, type RunState } from './checkpoint';
import { ConfigFileError, RunDirError } from './errors';
import { acquireRunLock, checkRunDirExists, holdsRun, prepareOutputDir, removeRunFiles, removeStaleTemps, runFilesIn } from './run-dir';
import { appendRow, metricsText, rowsForResume } from './metrics-log';
import { writeFileAtomic } from './atomic';
import { createProgress } from './progress';
import { createCropMaker } from './background-augment';
import { knnMonitor } from './monitor';
import { finalEvaluation } from './final-eval';
import type { BackendInfo } from './backend';
import { versions } from './versions';
import { trainerConfig } from './trainer-config';
import type { MetricRow } from './report';

export interface TrainResult {
  exitCode: number;
  iteration: number;
  reportPath?: string;
}

/** Exit codes: 0 done, 2 bad input, 3 non-finite loss, 130 interrupted (checkpoint saved). */
export const EXIT = { ok: 0, badInput: 2, nonFinite: 3, interrupted: 130 } as const;

export interface TrainOptions {
  config: TrainConfig;
  backend: BackendInfo;
  resume: boolean;
  /** Start a new run in a directory that already holds one, replacing its files. */
  overwrite?: boolean;
  /**
   * The settings the user gave explicitly (preset, config file, flags). On resume the run's own
   * settings are used, so any of these that contradicts them (other than how to run it: backend,
   * time limit, iterations, report) is refused rather than silently ignored.
   */
  given?: Record<string, unknown>;
  /** Start from main_dino.py's checkpoint (`--resume-from`): its training state and epoch. */
  from?: { bytes: Uint8Array; source: string };
  log?: (line: string) => void;
}

/** What `--resume` may change: how the run is run, not what it is. */
const RESUME_MAY_CHANGE = new Set(['backend', 'threads', 'out', 'timeLimit', 'maxIterations', 'report']);

export async function runTrain(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const out = opts.config.out;
  if (opts.resume && opts.from) {
    throw new ConfigFileError('--resume and --resume-from contradict each other: --resume continues the dino-ts run in --out, --resume-from starts one from a reference checkpoint; pass one of them.');
  }
  if (opts.resume && opts.overwrite) {
    throw new ConfigFileError('--resume and --overwrite contradict each other: --resume continues the run in --out, --overwrite replaces it; pass one of them.');
  }
  // The folder first: a bad --out costs a second, not a data set load. A resume never creates it.
  if (opts.resume) checkRunDirExists(out);
  else prepareOutputDir(out);
  // One process owns a run directory at a time; everything below runs under its lock.
  const lock = acquireRunLock(out, log);
  try {
    return await trainOwned(opts, log);
  } finally {
    lock.release();
  }
}

/** The settings of `given` that differ from the run's, as "--flag value (the run has value)". */
function contradictions(given: Record<string, unknown>, run: TrainConfig): string[] {
  const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return Object.entries(given)
    .filter(([k, v]) => v !== undefined && !RESUME_MAY_CHANGE.has(k) && !same(v, (run as Record<string, unknown>)[k]))
    .map(([k, v]) => `--${kebab(k)} ${show(v)} (the run has ${show((run as Record<string, unknown>)[k] ?? 'its default')})`);
}

async function trainOwned(opts: TrainOptions, log: (line: string) => void): Promise<TrainResult> {
  const t0 = Date.now();
  let c = opts.config;
  const out = c.out;
  removeStaleTemps(out, log);
  let resumed: ReturnType<typeof readCheckpoint> | null = null;
  if (opts.resume) {
    resumed = readCheckpoint(out, 'resume', { warn: log });
    const differ = contradictions(opts.given ?? {}, resumed.run.config);
    if (differ.length > 0) {
      throw new ConfigFileError(
        `--resume continues the run in ${out} with its own settings, but ${differ.join(', ')} ${differ.length > 1 ? 'differ' : 'differs'}: ` +
          `drop ${differ.length > 1 ? 'them' : 'it'} to continue, or start a new run with --overwrite (or another --out).`,
      );
    }
    // The run's own settings win; only how to run it may change on resume.
    c = { ...resumed.run.config, backend: c.backend, threads: c.threads, out: c.out, timeLimit: c.timeLimit, maxIterations: c.maxIterations, report: c.report };
    log(`Resuming ${out} at iteration ${resumed.run.iteration} (epoch ${resumed.run.epoch}).`);
  }
  checkDataSource(c);
  if (!resumed && holdsRun(out) && !opts.overwrite) {
    throw new RunDirError(
      `${out} already holds a run (${runFilesIn(out).join(', ')}): continue it with --resume, or replace it with --overwrite (or pick another --out).`,
      out,
    );
  }

  const data: OpenedData = await openDatasets(c);
  if (resumed) {
    data.mean = resumed.run.mean;
    data.std = resumed.run.std;
    if (resumed.run.mean.length !== data.channels) {
      throw new DataError(`${out}: the checkpoint normalises ${resumed.run.mean.length} channel(s) but the data has ${data.channels}; it is not this run's data`, out);
    }
  }
  if (opts.from && data.channels === 3) {
    // The reference normalises with ImageNet's statistics whatever the data; its weights expect them.
    data.mean = [...IMAGENET_MEAN];
    data.std = [...IMAGENET_STD];
  }
  const itersPerEpoch = Math.floor(data.train.length / c.batchSize);
  if (itersPerEpoch < 1) {
    throw new ConfigError('--batch-size', c.batchSize, `is larger than the training set (${data.train.length} images): lower it or use more data`);
  }
  const total = c.epochs * itersPerEpoch;
  if (total > MAX_TOTAL_ITERATIONS) {
    throw new ConfigError('--epochs', c.epochs, `makes ${total} iterations (${itersPerEpoch} per epoch), more than ${MAX_TOTAL_ITERATIONS}: lower it`);
  }
  if (c.knnK > data.train.length) {
    throw new ConfigError('--knn-k', c.knnK, `must be at most the number of training images (${data.train.length}), the k-NN memory bank`);
  }
  if (resumed && (resumed.run.iteration > total || resumed.run.epoch !== Math.floor(resumed.run.iteration / itersPerEpoch))) {
    throw new DataError(
      `${out}: the checkpoint is at iteration ${resumed.run.iteration} (epoch ${resumed.run.epoch}), which does not fit its run of ${c.epochs} epochs x ${itersPerEpoch} iterations; the checkpoint was edited or the data changed`,
      out,
    );
  }
  const trainer = new DinoTrainer(trainerConfig(c, data, itersPerEpoch));
  const stopAt = Math.min(total, c.maxIterations ?? total);
  let it = 0;
  let trainSeconds = 0;
  let imagesSeen = 0;
  if (resumed) {
    try {
      trainer.loadState(resumed.state);
    } catch (e) {
      // Names and shapes that do not fit the networks its settings build: the file was edited.
      if (!(e instanceof ShapeError || e instanceof ConfigError)) throw e;
      throw new DataError(`${join(out, 'checkpoint.safetensors')}: its training state does not fit the run's networks (${e.message.replace(/\.$/, '')}); the checkpoint is damaged or was edited`, out);
    }
    it = resumed.run.iteration;
    trainSeconds = resumed.run.trainSeconds;
    imagesSeen = resumed.run.imagesSeen;
  }
  if (opts.from) {
    // The reference numbers AdamW's parameters through its two groups; the student's own groups
    // (the same rule) name them.
    const ckpt = readReferenceCheckpoint(opts.from.bytes, paramGroups(trainer.student.params()), opts.from.source);
    try {
      trainer.loadState({ tensors: ckpt.tensors, metadata: {} });
    } catch (e) {
      if (!(e instanceof ShapeError || e instanceof ConfigError)) throw e;
      throw new DataError(`${opts.from.source}: its training state does not fit the networks of these settings (${e.message.replace(/\.$/, '')})`, opts.from.source);
    }
    it = ckpt.epoch * itersPerEpoch;
    if (it >= total) {
      throw new ConfigError('--epochs', c.epochs, `must be more than the checkpoint's ${ckpt.epoch} completed epochs to continue it`);
    }
    log(`Continuing main_dino.py's run from ${opts.from.source} at epoch ${ckpt.epoch} (iteration ${it}).`);
  }
  // Everything is checked: only now is anything in the directory replaced.
  if (!resumed && opts.overwrite) {
    const removed = removeRunFiles(out);
    if (removed.length > 0) log(`--overwrite: removed the previous run's ${removed.join(', ')} from ${out}.`);
  }

  // metrics.jsonl: keep the history before the resumed iteration (a torn last line cut off),
  // drop anything after it (work done after the last checkpoint is redone and logged again).
  // Replaced atomically: a kill during this rewrite keeps the old file.
  const metricsPath = join(out, 'metrics.jsonl');
  const history: MetricRow[] = resumed ? rowsForResume(metricsPath, it, log) : [];
  writeFileAtomic(metricsPath, metricsText(history));
  const record = (row: Record<string, unknown>) => {
    appendRow(metricsPath, row);
    history.push(row as unknown as MetricRow);
  };
  const cropMaker = createCropMaker(c, data, opts.backend.name);

  const runState = (reason: string): RunState => ({
    iteration: it,
    epoch: Math.floor(it / itersPerEpoch),
    config: c,
    mean: data.mean,
    std: data.std,
    trainSeconds,
    imagesSeen,
    savedAt: new Date().toISOString(),
    versions: versions(opts.backend),
    reason,
  });
  // The last iteration on disk: what a failed save (a full disk) leaves the user with.
  let savedAt: number | null = resumed ? it : null;
  const save = async (reason: string) => {
    try {
      await saveCheckpoint(out, trainer, runState(reason));
      savedAt = it;
    } catch (e) {
      if (!(e instanceof RunDirError)) throw e;
      const kept = savedAt === null ? 'no checkpoint had been saved yet' : `the checkpoint of iteration ${savedAt} is kept`;
      throw new RunDirError(`${e.message.replace(/\.$/, '')}; ${kept}: free space (or fix the folder) and continue with dino train --resume --out ${out}`, out);
    }
  };

  log(
    `Training ${c.arch} on ${data.train.name} (${data.train.length} train / ${data.test.length} held-out, ${data.imageSize}px x${data.channels}) ` +
      `for ${c.epochs} epochs x ${itersPerEpoch} iterations, batch ${c.batchSize}, ${2 + c.localCropsNumber} crops, K ${c.outDim}, backend ${opts.backend.name}, crops made in the ${cropMaker.where}.`,
  );

  let stopRequested: string | null = null;
  const onSignal = (sig: string) => () => {
    if (stopRequested) process.exit(EXIT.interrupted);
    stopRequested = sig;
    log(`\n${sig}: finishing the current step, then saving a checkpoint (press again to quit at once).`);
  };
  const sigint = onSignal('SIGINT'), sigterm = onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  const deadline = c.timeLimit ? Date.now() + c.timeLimit * 60_000 : Infinity;

  /** One point of the k-NN curve: the teacher after `epochsDone` epochs, recorded and logged. */
  const knnPoint = async (epochsDone: number, note: string, say: (line: string) => void) => {
    const acc = await knnMonitor(trainer.teacher.backbone, data, c);
    record({ type: 'knn', iteration: it, epoch: epochsDone, knnTop1: acc });
    say(`epoch ${epochsDone}/${c.epochs}${note} teacher k-NN top-1 ${(100 * acc).toFixed(1)}% (k=${c.knnK}, held-out)`);
  };
  const progress = createProgress(stopAt, 'train', { unit: 'img', perUnit: c.batchSize, start: it });
  // The loader's order depends only on (seed, epoch), so a resumed run sees the same batches.
  const loader = new DataLoader(data.train, { batchSize: c.batchSize, seed: c.seed, dropLast: true, prefetch: 1 });
  let collapseWarned = -1;
  let exitCode: number = EXIT.ok;
  let batches: AsyncGenerator<Awaited<ReturnType<DataLoader['load']>>> | undefined;
  // The crops of the next iteration are made (on another thread where possible) while this one
  // trains. Each request goes out before the step starts: the step is synchronous wasm work that
  // would hold back any callback (a `.then` on the loader) until it ends.
  // (Typed by assertion: requestCrops, a closure, sets it, which a plain `= null` would hide.)
  let pending = null as Promise<tf.Tensor4D[]> | null;
  const requestCrops = async (i: number) => {
    const { value: batch } = await batches!.next();
    pending = batch ? cropMaker.crops(batch.images, batch.shape, i) : null;
    pending?.catch(() => {}); // awaited later; this only keeps Node from calling a rejection unhandled meanwhile
  };
  try {
    // The curve starts at the untrained teacher, so every later point has its baseline (random ViT
    // features score well above chance on some data sets, e.g. 56% on Fashion-MNIST).
    if (it === 0 && c.evalEvery > 0) await knnPoint(0, ' (untrained):', (line) => progress.log(line));
    batches = loader.iterate({ from: { epoch: Math.floor(it / itersPerEpoch), iteration: it % itersPerEpoch } });
    if (it < stopAt) await requestCrops(it);
    while (it < stopAt && pending) {
      const epoch = Math.floor(it / itersPerEpoch);
      const ts = Date.now();
      const crops = await pending;
      pending = null;
      if (it + 1 < stopAt) await requestCrops(it + 1);
      let m: DinoStepMetrics;
      try {
        m = await trainer.step(crops, it, epoch);
      } finally {
        tf.dispose(crops);
      }
      const dt = (Date.now() - ts) / 1000;
      trainSeconds += dt;
      imagesSeen += c.batchSize;
      it++;
      const row = { type: 'step', ...m, imgPerSec: c.batchSize / dt, time: new Date().toISOString() };
      record(row);
      progress.update(it, { ep: epoch, loss: m.loss, H: m.teacherEntropy });

      const collapse = it > itersPerEpoch ? collapseSign(m, c.outDim) : null;
      if (collapse && collapseWarned !== epoch) {
        collapseWarned = epoch;
        progress.log(
          `Warning: signs of collapse at iteration ${it}: ${describeCollapse(collapse)}. Remedies from the reference: keep the teacher temperature low ` +
            `(0.04-0.07, with --warmup-teacher-temp-epochs), keep the momentum teacher (--momentum-teacher 0.996+) and centering ` +
            `(--center-momentum 0.9), lower --lr, or raise --out-dim.`,
        );
      }

      const epochEnd = it % itersPerEpoch === 0;
      if (epochEnd && c.evalEvery > 0 && (it / itersPerEpoch) % c.evalEvery === 0) {
        await knnPoint(epoch + 1, `: loss ${m.loss.toFixed(4)},`, (line) => progress.log(line));
      }
      const timeUp = Date.now() > deadline;
      if (epochEnd || (c.saveEvery > 0 && it % c.saveEvery === 0) || stopRequested || timeUp || it === stopAt) {
        await save(stopRequested ? `signal ${stopRequested}` : timeUp ? 'time limit' : epochEnd ? `end of epoch ${epoch + 1}` : 'periodic');
      }
      if (stopRequested || timeUp) {
        progress.stop();
        log(
          `Stopped at iteration ${it} (${stopRequested ?? 'time limit'}) after ${(trainSeconds / 60).toFixed(1)} min of training ` +
            `(${(imagesSeen / trainSeconds).toFixed(1)} img/s); checkpoint saved in ${out}. Continue with: dino train --resume --out ${out}`,
        );
        exitCode = stopRequested ? EXIT.interrupted : EXIT.ok;
        return { exitCode, iteration: it };
      }
    }
    progress.stop();
  } catch (e) {
    progress.stop();
    if (e instanceof NonFiniteLossError) {
      log(
        `\nError: ${e.message}\nThe last good checkpoint is kept in ${out} (iteration ${it}). Usual causes: a learning rate too high ` +
          `(lower --lr or lengthen --warmup-epochs), a teacher temperature too low or too high (--teacher-temp 0.04-0.07), ` +
          `gradient clipping off (--clip-grad 3), or reduced floating-point precision on the GPU.`,
      );
      return { exitCode: EXIT.nonFinite, iteration: it };
    }
    throw e;
  } finally {
    // Crops made ahead for an iteration that will not run (stop, signal, error) are dropped.
    if (pending) await pending.then((k) => tf.dispose(k), () => {});
    await cropMaker.close();
    await batches?.return(undefined);
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }

  log(`Training done: ${it} iterations in ${(trainSeconds / 60).toFixed(1)} min (${(imagesSeen / trainSeconds).toFixed(1)} img/s).`);
  let reportPath: string | undefined;
  if (c.report) {
    reportPath = await finalEvaluation({ trainer, data, config: c, backend: opts.backend, history, out, timing: { wallSeconds: (Date.now() - t0) / 1000, trainSeconds, imagesSeen }, log });
    log(`Report: ${reportPath}`);
  }
  trainer.dispose();
  return { exitCode, iteration: it, reportPath };
}
