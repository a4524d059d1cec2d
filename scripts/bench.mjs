// `pnpm bench`: the DINO training step and ViT-S/16 inference, dino-ts (wasm + SIMD kernels)
// against stock tfjs-wasm, onnxruntime (node and web, on the ViT exported to ONNX) and, when
// Debian's python3-torch is installed, PyTorch, all in this run
// and on this machine. Prints one JSON line per measurement, then a table with the ratios.
//   pnpm bench            (all)      pnpm bench -- --quick   (fewer steps, skips stock dino-step)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const rows = [];
function run(cmd, args, label, env = {}) {
  process.stderr.write(`measuring ${label}...\n`);
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: join(here, '..', 'apps', 'trainer'), env: { ...process.env, OPENBLAS_NUM_THREADS: '1', ...env } });
  if (r.status !== 0) {
    process.stderr.write(`  ${label} failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}\n`);
    return;
  }
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const row = JSON.parse(line);
    rows.push(row);
    console.log(line);
  }
}
const measure = join(here, '..', 'apps', 'trainer', 'bench', 'measure.mjs');
// dino-ts on one thread and on two (its kernels split over a worker pool on shared memory).
for (const threads of ['1', '2']) {
  run(process.execPath, [measure, 'dino-step', 'dino-ts', quick ? '2' : '4', threads], `dino-step dino-ts (${threads} thread${threads === '1' ? '' : 's'})`);
}
if (!quick) run(process.execPath, [measure, 'dino-step', 'tfjs-stock', '1'], 'dino-step tfjs-stock (minutes)');
// The yardstick for the inference rows: what a bare loop of wasm SIMD fused multiply-adds does on
// as many threads (no matrix product in wasm can go faster).
for (const threads of ['1', '2']) {
  run(process.execPath, [join(here, '..', 'apps', 'trainer', 'bench', 'fma-ceiling.mjs'), threads], `wasm SIMD multiply-add ceiling (${threads} thread${threads === '1' ? '' : 's'})`);
}
for (const threads of ['1', '2']) {
  run(process.execPath, [measure, 'vit-s16-infer', 'dino-ts', quick ? '2' : '3', threads], `vit-s16-infer dino-ts (${threads} thread${threads === '1' ? '' : 's'})`);
}
run(process.execPath, [measure, 'vit-s16-infer', 'tfjs-stock', quick ? '1' : '2'], 'vit-s16-infer tfjs-stock');
// The same ViT-S/16 and images exported by @dino-ts/onnx and run by onnxruntime (the devDependencies
// of packages/onnx): its native CPU addon and its WebAssembly build, on 1 and 2 threads.
for (const impl of ['onnxruntime-node', 'onnxruntime-web']) {
  for (const threads of ['1', '2']) {
    run(process.execPath, [measure, 'vit-s16-infer', impl, quick ? '2' : '3', threads], `vit-s16-infer ${impl} (${threads} thread${threads === '1' ? '' : 's'})`);
  }
}
// The trainer end to end (a preset's data, crops, step, checkpoints): one core's work (kernels on
// one thread, crops in the main thread) against both cores (kernels on two threads, the next
// batch's crops made in a worker thread meanwhile).
function trainRate(preset, allCores) {
  const label = `${preset}-preset-train ${allCores ? '2 kernel threads + crops worker' : '1 thread, crops in main thread'}`;
  process.stderr.write(`measuring ${label}...\n`);
  const out = mkdtempSync(join(tmpdir(), 'dino-bench-'));
  const its = quick ? '24' : '64';
  const r = spawnSync(process.execPath, [join(here, '..', 'apps', 'trainer', 'dist', 'bin.js'), 'train', '--preset', preset, '--backend', 'wasm', '--threads', allCores ? '2' : '1', '--max-iterations', its, '--eval-every', '0', '--no-report', '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, DINO_AUGMENT_WORKER: allCores ? '1' : '0' },
  });
  rmSync(out, { recursive: true, force: true });
  const m = /Training done: .* \(([\d.]+) img\/s\)/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) return process.stderr.write(`  ${label} failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}\n`);
  const row = { name: `${preset}-preset-train`, impl: allCores ? 'dino-ts, crops in a worker' : 'dino-ts, crops in main thread', backend: 'wasm', threads: allCores ? 2 : 1, img_per_s: Number(m[1]), peak_rss_mb: '' };
  rows.push(row);
  console.log(JSON.stringify(row));
}
trainRate('shapes', false);
trainRate('shapes', true);
// Fashion-MNIST only where Debian's dataset-fashion-mnist is installed.
if (existsSync('/usr/share/datasets/fashion-mnist')) {
  trainRate('fashion-mnist', false);
  trainRate('fashion-mnist', true);
}
if (existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) {
  run('/usr/bin/python3', [join(here, 'bench', 'torch_bench.py'), '1'], 'pytorch (1 thread)');
  // PyTorch's best on two cores here: one torch thread, two OpenBLAS threads in each product.
  run('/usr/bin/python3', [join(here, 'bench', 'torch_bench.py'), '1'], 'pytorch (1 torch thread, 2 OpenBLAS threads)', { OPENBLAS_NUM_THREADS: '2' });
} else {
  process.stderr.write('PyTorch not measured: apt-get install python3-torch libopenblas0-pthread to compare.\n');
}
const get = (name, impl, threads) => rows.find((r) => r.name === name && r.impl === impl && (threads == null || r.threads === threads));
console.log('\n| measurement | impl | backend | threads | img/s | peak RSS MB | vs tfjs-stock | vs PyTorch 1 thread | vs PyTorch 2 cores | vs onnxruntime-web, same threads |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  if (r.name === 'fma-ceiling') continue;
  const stock = get(r.name, 'tfjs-stock'), torch = get(r.name, 'pytorch');
  const torch2 = rows.find((o) => o.name === r.name && o.impl.startsWith('pytorch (OpenBLAS'));
  const ortWeb = get(r.name, 'onnxruntime-web', r.threads);
  const ratio = (o) => (o && o !== r ? `${(r.img_per_s / o.img_per_s).toFixed(2)}x` : '');
  console.log(`| ${r.name} | ${r.impl} | ${r.backend} | ${r.threads} | ${r.img_per_s} | ${r.peak_rss_mb} | ${ratio(stock)} | ${ratio(torch)} | ${ratio(torch2)} | ${r.impl === 'dino-ts' ? ratio(ortWeb) : ''} |`);
}
// GFLOP/s of the ViT-S/16 forward's matrix products, against the multiply-add loop on as many
// threads, from each row's arithmetic per image (measure.mjs: the dino-ts backbone runs the last
// block for the CLS token alone, the ONNX graph for every token, 7% more).
const ceilings = rows.filter((r) => r.name === 'fma-ceiling');
if (ceilings.length > 0) {
  console.log(`\nwasm SIMD ceiling (a loop of 128-bit fused multiply-adds): ${ceilings.map((c) => `${c.gflops} GFLOP/s on ${c.threads} thread${c.threads === 1 ? '' : 's'}`).join(', ')}`);
  for (const r of rows.filter((o) => o.name === 'vit-s16-infer' && o.backend === 'wasm')) {
    const ceiling = ceilings.find((c) => c.threads === r.threads);
    const gflops = r.img_per_s * r.gflop_per_img;
    console.log(`  ViT-S/16 ${r.impl}, ${r.threads} thread${r.threads === 1 ? '' : 's'}: ${gflops.toFixed(1)} GFLOP/s${ceiling ? ` (${((100 * gflops) / ceiling.gflops).toFixed(0)}% of the ceiling)` : ''}`);
  }
}
for (const preset of ['shapes', 'fashion-mnist']) {
  const all = get(`${preset}-preset-train`, 'dino-ts, crops in a worker'), one = get(`${preset}-preset-train`, 'dino-ts, crops in main thread');
  if (all && one) {
    console.log(`\n${preset} preset training: both cores ${all.img_per_s} img/s against one core's ${one.img_per_s} (${(all.img_per_s / one.img_per_s).toFixed(2)}x)`);
  }
}
