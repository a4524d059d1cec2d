#!/usr/bin/env node
/**
 * Writes the train and held-out images of a trainer preset as NumPy .npy files, so the
 * reference training loop (train_dino_reference.py) can run on exactly the images a dino-ts
 * run sees. Needs `pnpm build`.
 *
 *   node scripts/reference/export-data.mjs DIR [--preset shapes] [any `dino train` data flag]
 *
 * DIR receives train_x.npy / test_x.npy (uint8, N x H x W x C), train_y.npy / test_y.npy
 * (int64) and stats.json (per-channel mean and std, as the trainer normalises).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS, resolveConfig, openDatasets, camel } from '../../apps/trainer/dist/index.js';

const [dir, ...rest] = process.argv.slice(2);
if (!dir || dir.startsWith('--')) {
  console.error('usage: node scripts/reference/export-data.mjs DIR [--preset NAME] [--flag value ...]');
  process.exit(2);
}
const flags = {};
let preset = 'shapes';
for (let i = 0; i < rest.length; i += 2) {
  const key = rest[i].replace(/^--/, '');
  const raw = rest[i + 1];
  if (key === 'preset') preset = raw;
  else flags[camel(key)] = Number.isNaN(Number(raw)) ? raw : Number(raw);
}
if (!PRESETS[preset]) throw new Error(`unknown preset ${preset}: one of ${Object.keys(PRESETS).join(', ')}`);
const config = resolveConfig([PRESETS[preset].values, flags]);
const d = await openDatasets(config);

/** The .npy format, version 1.0: magic, a header dict padded to 64 bytes, the raw data. */
function npy(descr, shape, bytes) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
}

mkdirSync(dir, { recursive: true });
for (const [name, set] of [['train', d.train], ['test', d.test]]) {
  const { height: h, width: w, channels: c, length: n } = set;
  const x = new Uint8Array(n * h * w * c);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const item = await set.get(i);
    x.set(item.image, i * h * w * c);
    y[i] = BigInt(item.label);
  }
  writeFileSync(join(dir, `${name}_x.npy`), npy('|u1', [n, h, w, c], x));
  writeFileSync(join(dir, `${name}_y.npy`), npy('<i8', [n], y));
}
writeFileSync(join(dir, 'stats.json'), JSON.stringify({ mean: d.mean, std: d.std, preset, config }, null, 2) + '\n');
console.log(`${d.train.length} train + ${d.test.length} held-out images of ${d.train.name} in ${dir}`);
