// `pnpm bench`: the DINO training step and ViT-S/16 inference, dino-ts (wasm + SIMD kernels)
// against stock tfjs-wasm and, when Debian's python3-torch is installed, PyTorch, all in this run
// and on this machine. Prints one JSON line per measurement, then a table with the ratios.
//   pnpm bench            (all)      pnpm bench -- --quick   (fewer steps, skips stock dino-step)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const rows = [];
function run(cmd, args, label) {
  process.stderr.write(`measuring ${label}...\n`);
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: join(here, '..', 'apps', 'trainer'), env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
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
run(process.execPath, [measure, 'dino-step', 'dino-ts', quick ? '2' : '4'], 'dino-step dino-ts');
if (!quick) run(process.execPath, [measure, 'dino-step', 'tfjs-stock', '1'], 'dino-step tfjs-stock (minutes)');
run(process.execPath, [measure, 'vit-s16-infer', 'dino-ts', quick ? '2' : '3'], 'vit-s16-infer dino-ts');
run(process.execPath, [measure, 'vit-s16-infer', 'tfjs-stock', quick ? '1' : '2'], 'vit-s16-infer tfjs-stock');
if (existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) {
  run('/usr/bin/python3', [join(here, 'bench', 'torch_bench.py'), '1'], 'pytorch (1 thread)');
} else {
  process.stderr.write('PyTorch not measured: apt-get install python3-torch libopenblas0-pthread to compare.\n');
}
const get = (name, impl) => rows.find((r) => r.name === name && r.impl === impl);
console.log('\n| measurement | impl | backend | threads | img/s | peak RSS MB | vs tfjs-stock | vs PyTorch |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const stock = get(r.name, 'tfjs-stock'), torch = get(r.name, 'pytorch');
  const ratio = (o) => (o && o !== r ? `${(r.img_per_s / o.img_per_s).toFixed(2)}x` : '');
  console.log(`| ${r.name} | ${r.impl} | ${r.backend} | ${r.threads} | ${r.img_per_s} | ${r.peak_rss_mb} | ${ratio(stock)} | ${ratio(torch)} |`);
}
