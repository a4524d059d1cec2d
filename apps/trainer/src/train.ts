/**
 * `dino train`: the reference training loop (main_dino.py train_dino / train_one_epoch) composed
 * from the packages, with the things a user needs around it: checkpoints that never lose work,
 * resume, a stop on a non-finite loss, a collapse watch, progress, metrics and a report.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@dino-ts/core';
import { mkdirSync, appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DinoTrainer, NonFiniteLossError, collapseSign, describeCollapse, type DinoStepMetrics } from '@dino-ts/dino';
import { DataLoader } from '@dino-ts/data';
import type { TrainConfig } from './config';
import { openDatasets, type OpenedData } from './datasets';
import { saveCheckpoint, readCheckpoint, hasCheckpoint, type RunState } from './checkpoint';
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
  log?: (line: string) => void;
}

export async function runTrain(opts: TrainOptions): Promise<TrainResult> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  let c = opts.config;
  const out = c.out;
  mkdirSync(out, { recursive: true });
  let resumed: ReturnType<typeof readCheckpoint> | null = null;
  if (opts.resume) {
    resumed = readCheckpoint(out, 'resume');
    // The run's own settings win; only how to run it may change on resume.
    c = { ...resumed.run.config, backend: c.backend, out: c.out, timeLimit: c.timeLimit, maxIterations: c.maxIterations, report: c.report };
    log(`Resuming ${out} at iteration ${resumed.run.iteration} (epoch ${resumed.run.epoch}).`);
  } else if (hasCheckpoint(out)) {
    log(`Note: ${out} already holds a checkpoint; it will be overwritten at the first save (use --resume to continue it instead).`);
  }

  const data: OpenedData = await openDatasets(c);
  if (resumed) {
    data.mean = resumed.run.mean;
    data.std = resumed.run.std;
  }
  const itersPerEpoch = Math.floor(data.train.length / c.batchSize);
  if (itersPerEpoch < 1) {
    throw new ConfigError('--batch-size', c.batchSize, `is larger than the training set (${data.train.length} images): lower it or use more data`);
  }
  const trainer = new DinoTrainer(trainerConfig(c, data, itersPerEpoch));
  const cropMaker = createCropMaker(c, data, opts.backend.name);
  const total = c.epochs * itersPerEpoch;
  const stopAt = Math.min(total, c.maxIterations ?? total);
  let it = 0;
  let trainSeconds = 0;
  let imagesSeen = 0;
  if (resumed) {
    trainer.loadState(resumed.state);
    it = resumed.run.iteration;
    trainSeconds = resumed.run.trainSeconds;
    imagesSeen = resumed.run.imagesSeen;
  }

  // metrics.jsonl: keep the history before the resumed iteration, drop anything after it (work
  // done after the last checkpoint is redone and logged again).
  const metricsPath = join(out, 'metrics.jsonl');
  const history: MetricRow[] = [];
  if (resumed && existsSync(metricsPath)) {
    for (const line of readFileSync(metricsPath, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as MetricRow & { type?: string };
      if (row.iteration < it || (row.type === 'knn' && row.iteration <= it)) history.push(row);
    }
  }
  writeFileSync(metricsPath, history.map((r) => JSON.stringify(r)).join('\n') + (history.length ? '\n' : ''));
  const record = (row: Record<string, unknown>) => {
    appendFileSync(metricsPath, JSON.stringify(row) + '\n');
    history.push(row as unknown as MetricRow);
  };

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
  const save = async (reason: string) => saveCheckpoint(out, trainer, runState(reason));

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
  // The curve starts at the untrained teacher, so every later point has its baseline (random ViT
  // features score well above chance on some data sets, e.g. 56% on Fashion-MNIST).
  if (it === 0 && c.evalEvery > 0) await knnPoint(0, ' (untrained):', log);
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
        log(`Stopped at iteration ${it} (${stopRequested ?? 'time limit'}); checkpoint saved in ${out}. Continue with: dino train --resume --out ${out}`);
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
