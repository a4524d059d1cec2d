// Data-pipeline throughput, printed as JSON lines: procedural shapes generated per second (32 and
// 64 px), loader batches per second over shapes, an in-memory array data set and an image folder.
// Run after a build: `node packages/data/bench/loader.bench.mjs` (options: --quick).
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ArrayDataset, DataLoader, MovingShapesDataset, ShapesDataset } from '../dist/index.js';
// Image folders read files and decode with sharp: the Node-only entry.
import { ImageFolderDataset } from '../dist/node.js';

const quick = process.argv.includes('--quick');
const scale = quick ? 0.2 : 1;

function emit(row) {
  console.log(JSON.stringify(row));
}

/**
 * Best of `repeats` runs of fn(), after one warm-up call: wall seconds, and this process's CPU
 * seconds (less disturbed by other work on a shared machine; for the image folder, sharp's
 * worker threads count too).
 */
async function time(fn, repeats = 3) {
  await fn();
  let best = Infinity, bestCpu = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (performance.now() - t0) / 1000);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
  }
  return { s: best, cpu: bestCpu };
}

for (const size of [32, 64]) {
  const n = Math.round((size === 32 ? 2000 : 500) * scale);
  const ds = new ShapesDataset({ length: n, size });
  const { s, cpu } = await time(() => {
    for (let i = 0; i < n; i++) ds.getSync(i);
  });
  emit({ bench: 'shapes.generate', size, images: n, seconds: +s.toFixed(4), imagesPerSec: Math.round(n / s), imagesPerCpuSec: Math.round(n / cpu) });
}

{
  const videos = Math.round(20 * scale);
  const ds = new MovingShapesDataset({ length: videos, size: 64, numFrames: 8 });
  const { s, cpu } = await time(() => {
    for (let i = 0; i < videos; i++) ds.get(i);
  });
  emit({ bench: 'movingShapes.generate', size: 64, numFrames: 8, videos, seconds: +s.toFixed(4), framesPerSec: Math.round((videos * 8) / s), framesPerCpuSec: Math.round((videos * 8) / cpu) });
}

async function loaderBench(name, ds, batchSize, batches) {
  const loader = new DataLoader(ds, { batchSize, seed: 0, dropLast: true });
  const { s, cpu } = await time(async () => {
    let k = 0;
    for await (const b of loader.iterate()) {
      if (b.images.length !== batchSize * ds.height * ds.width * ds.channels) throw new Error('bad batch');
      if (++k >= batches) break;
    }
  }, 2);
  emit({ bench: 'loader', dataset: name, batchSize, batches, seconds: +s.toFixed(4), batchesPerSec: +(batches / s).toFixed(2), batchesPerCpuSec: +(batches / cpu).toFixed(2), imagesPerSec: Math.round((batches * batchSize) / s) });
}

await loaderBench('shapes32', new ShapesDataset({ length: 10000, size: 32 }), 64, Math.round(20 * scale) || 2);
{
  const n = 10000;
  const images = new Uint8Array(n * 28 * 28);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const ds = new ArrayDataset({ name: 'array28', images, height: 28, width: 28, channels: 1, labels, classNames: Array.from({ length: 10 }, (_, k) => `c${k}`) });
  await loaderBench('array28x28x1', ds, 256, Math.round(30 * scale) || 2);
}
{
  // An image folder of 64 px PNGs decoded to 32 px, cache off so every batch decodes.
  const root = mkdtempSync(join(tmpdir(), 'dino-bench-folder-'));
  const shapes = new ShapesDataset({ length: Math.round(256 * scale) || 32, size: 64 });
  for (const c of ['a', 'b']) mkdirSync(join(root, c));
  for (let i = 0; i < shapes.length; i++) {
    await sharp(shapes.getSync(i).image, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(join(root, i % 2 ? 'b' : 'a', `${i}.png`));
  }
  // Remove the folder at exit, once a batch still being prefetched has finished.
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const ds = await ImageFolderDataset.open(root, { size: 32, verify: 'header', cacheBytes: 0 });
  await loaderBench('folder-png64-to-32', ds, 32, Math.floor(ds.length / 32));
}
