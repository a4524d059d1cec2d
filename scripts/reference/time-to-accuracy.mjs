#!/usr/bin/env node
/**
 * One time-to-accuracy comparison on Fashion-MNIST in one command: `dino train --preset
 * fashion-mnist --time-limit M` then `dino eval knn --bank 0` (the reference protocol: k = 20,
 * T = 0.07, all 60,000 training images in the bank, the 10,000 test images), and the reference
 * training loop (train_dino_reference.py) with the preset's exact settings and the same budget.
 * Needs `pnpm build`, Debian's python3-torch and a copy of facebookresearch/dino (DINO_REF).
 *
 *   DINO_REF=path/to/dino node scripts/reference/time-to-accuracy.mjs --minutes 60 --epochs 20 --out DIR
 *
 *   --minutes M     the training budget of each run (both stop there; their k-NN follows)
 *   --preset NAME   fashion-mnist (default) or a variant of it (fashion-mnist-wide)
 *   --epochs E      the schedule's length for both (default: the preset's); size it to the budget
 *   --side-by-side  both at once, each pinned to one core (taskset), dino-ts on one thread and
 *                   the reference on one torch and one OpenBLAS thread. Default: one after the
 *                   other, each with every core (dino-ts --threads N, the reference one torch
 *                   thread + N OpenBLAS threads, its best here)
 *   --out DIR       logs, the dino-ts run directory and summary.json
 *   --summarise     print the table of a finished comparison in --out (runs nothing)
 *
 * Prints a Markdown table: img/s, iterations (and the schedule's share), k-NN top-1.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS, resolveConfig } from '../../apps/trainer/dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const minutes = Number(flag('--minutes'));
const out = flag('--out');
const sideBySide = args.includes('--side-by-side');
if (!(minutes > 0) || !out) {
  console.error('usage: DINO_REF=path/to/dino node scripts/reference/time-to-accuracy.mjs --minutes M [--preset NAME] [--epochs E] [--side-by-side] --out DIR');
  process.exit(2);
}
const presetName = flag('--preset') ?? 'fashion-mnist';
if (!PRESETS[presetName]?.values.dataset?.startsWith('fashion-mnist')) {
  console.error(`--preset ${presetName}: not a Fashion-MNIST preset (${Object.keys(PRESETS).filter((k) => k.startsWith('fashion-mnist')).join(', ')})`);
  process.exit(2);
}
const preset = PRESETS[presetName].values;
const c = resolveConfig([preset, flag('--epochs') ? { epochs: Number(flag('--epochs')) } : {}]);
// What train_dino_reference.py fixes rather than takes as flags must be the preset's too.
const fixed = { warmupEpochs: 1, minLr: 1e-6, weightDecay: 0.04, weightDecayEnd: 0.4, clipGrad: 3, studentTemp: 0.1, centerMomentum: 0.9 };
for (const [k, v] of Object.entries(fixed)) {
  if (c[k] !== v) throw new Error(`the preset's ${k} is ${c[k]}, train_dino_reference.py fixes ${v}`);
}
if (c.warmupTeacherTemp !== c.teacherTemp) throw new Error('train_dino_reference.py has no teacher-temperature warm-up');
const cores = sideBySide ? 1 : availableParallelism();
mkdirSync(out, { recursive: true });
const runDir = resolve(out, 'dino-ts');

/** Runs a command with its output in out/<log>; resolves when it ends (rejects on failure). */
function run(log, cmd, cmdArgs, { core, env = {} } = {}) {
  const [file, argv] = core == null ? [cmd, cmdArgs] : ['taskset', ['-c', String(core), cmd, ...cmdArgs]];
  const sink = createWriteStream(join(out, log));
  return new Promise((res, rej) => {
    const p = spawn(file, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.pipe(sink);
    p.stderr.pipe(sink);
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res() : rej(new Error(`${cmd} exited with ${code}; see ${join(out, log)}`))));
  });
}

const bin = join(root, 'apps', 'trainer', 'dist', 'bin.js');
const dinoTs = async (core) => {
  await run('dino-ts-train.log', process.execPath, [bin, 'train', '--preset', presetName, '--epochs', String(c.epochs), '--time-limit', String(minutes), '--threads', String(cores), '--out', runDir], { core });
  await run('dino-ts-knn.log', process.execPath, [bin, 'eval', 'knn', '--out', runDir, '--bank', '0'], { core });
};
const reference = (core) =>
  run('reference.log', '/usr/bin/python3', [
    join(root, 'scripts', 'reference', 'train_dino_reference.py'),
    '--train-size', '60000', '--epochs', String(c.epochs), '--batch', String(c.batchSize), '--lr', String(c.lr),
    '--embed-dim', String(c.embedDim), '--depth', String(c.depth), '--heads', String(c.numHeads), '--patch', String(c.patchSize),
    '--out-dim', String(c.outDim), '--hidden-dim', String(c.hiddenDim), '--bottleneck-dim', String(c.bottleneckDim),
    '--local-crops', String(c.localCropsNumber), '--local-size', String(c.localCropsSize),
    '--local-scale', ...c.localCropsScale.map(String), '--global-scale', ...c.globalCropsScale.map(String),
    '--momentum', String(c.momentumTeacher), '--teacher-temp', String(c.teacherTemp), '--drop-path', String(c.dropPathRate),
    '--use-bn-in-head', c.useBnInHead ? '1' : '0', '--norm-last-layer', c.normLastLayer ? '1' : '0',
    '--freeze-last-layer', String(c.freezeLastLayer), '--seed', '0',
    '--bank', '2048', '--test', '1000', '--final-bank', '0', '--final-test', '10000', '--time-limit', String(minutes), '--threads', '1',
  ], { core, env: { OPENBLAS_NUM_THREADS: String(cores) } });

if (args.includes('--summarise')) {
  // only the table, from the logs of a finished comparison in --out
} else if (sideBySide) await Promise.all([dinoTs(0), reference(1)]);
else {
  await dinoTs();
  await reference();
}

// dino-ts: its metrics log (one record a step, with its time) and the k-NN table it wrote; the
// reference: its JSON lines. Both rates are images over wall-clock training time, epoch-end
// monitors included (the reference counts from before its first monitor, dino-ts from its first
// step's start).
const steps = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).map((l) => JSON.parse(l));
const first = steps[0], last = steps.at(-1);
const iterations = last.iteration + 1;
const wallSeconds = (Date.parse(last.time) - Date.parse(first.time)) / 1000 + c.batchSize / first.imgPerSec;
const knn = JSON.parse(readFileSync(join(runDir, 'eval-knn.json'), 'utf8')).find((r) => r.k === 20);
const refLines = readFileSync(join(out, 'reference.log'), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const refDone = refLines.find((r) => r.iterations != null);
const refKnn = refLines.filter((r) => r.knn_top1 != null).at(-1);
const schedule = c.epochs * Math.floor(60000 / c.batchSize);
const summary = {
  preset: presetName, minutes, epochs: c.epochs, schedule, mode: sideBySide ? 'side by side, one core each' : `one after the other, ${cores} cores each`,
  dinoTs: { iterations, trainingMinutes: wallSeconds / 60, imgPerSec: (iterations * c.batchSize) / wallSeconds, knnTop1: knn.top1 },
  reference: { iterations: refDone.iterations, imgPerSec: refDone.images / refDone.training_seconds, knnTop1: refKnn.knn_top1 },
};
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
const pct = (its) => `${((100 * its) / schedule).toFixed(0)}%`;
console.log(`Fashion-MNIST (${presetName}), ${minutes} minutes, ${c.epochs}-epoch schedule (${schedule} iterations), ${summary.mode}:\n`);
console.log('| run | training img/s | iterations (of the schedule) | k-NN top-1 |');
console.log('| --- | --- | --- | --- |');
console.log(`| dino-ts | ${summary.dinoTs.imgPerSec.toFixed(1)} | ${summary.dinoTs.iterations} (${pct(summary.dinoTs.iterations)}) | ${summary.dinoTs.knnTop1.toFixed(2)}% |`);
console.log(`| reference | ${summary.reference.imgPerSec.toFixed(1)} | ${summary.reference.iterations} (${pct(summary.reference.iterations)}) | ${summary.reference.knnTop1.toFixed(2)}% |`);
