#!/usr/bin/env node
// End-to-end test of the playground in a real browser: builds the app, serves the build with
// `vite preview` (the COOP/COEP headers of vite.config.ts), drives Debian's Chromium with
// playwright-core, and checks what a person would see, down to the pixels of the canvases.
//
//   node e2e/run.mjs                       # what CI runs (pnpm --filter @dino-ts/playground test:e2e)
//   node e2e/run.mjs --no-build            # reuse dist/
//   node e2e/run.mjs --node-bench          # also time the same operations in Node, side by side
//   node e2e/run.mjs --update-screenshot   # refresh screenshot.png (the README's picture)
//   DINO_CHROMIUM=/path/to/chrome node e2e/run.mjs
//
// Screenshots and a JSON report go to --out (default: a new temporary folder, printed). Exits 1
// on the first failed check, 2 when the browser cannot be started. Without Chromium it skips
// (exit 0) unless DINO_REQUIRE_BROWSER=1, as CI sets. Needs the packages built (`pnpm build`).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { preview } from 'vite';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '@dino-ts/wasm-kernels';
import { decodeSafetensors } from '@dino-ts/core';
import { SHAPE_CLASS_NAMES, ShapesDataset } from '@dino-ts/data';
import { evalTransform } from '@dino-ts/eval';
import { crc32, loadVisionTransformer, readWeights } from '@dino-ts/weights';

const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(APP, '../..');
const FIXTURES = join(ROOT, 'packages/weights/fixtures');
const { values: opts } = parseArgs({
  options: {
    build: { type: 'boolean', default: true },
    out: { type: 'string' },
    'node-bench': { type: 'boolean', default: false },
    'update-screenshot': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '170' },
  },
  allowNegative: true,
});
const out = resolve(opts.out ?? mkdtempSync(join(tmpdir(), 'dino-playground-e2e-')));
mkdirSync(out, { recursive: true });
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const log = (m) => process.stdout.write(`[e2e ${elapsed()}] ${m}\n`);
const report = { checks: [], timings: {}, screenshots: [] };

class CheckFailed extends Error {}
function check(name, ok, detail = '') {
  report.checks.push({ name, ok: Boolean(ok), detail });
  log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  if (!ok) throw new CheckFailed(`${name}${detail ? `: ${detail}` : ''}`);
}

// A hard limit, so a hung browser cannot hold CI: the whole run must end in time.
const limit = setTimeout(() => {
  log(`FAIL the test did not finish in ${opts.timeout} s`);
  process.exit(1);
}, Number(opts.timeout) * 1000);
limit.unref();

// ---- build and serve ----------------------------------------------------------------------------
if (opts.build) {
  log('vite build');
  const r = spawnSync(process.execPath, [join(APP, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: APP, stdio: 'inherit' });
  if (r.status !== 0) {
    log('FAIL vite build');
    process.exit(1);
  }
} else if (!existsSync(join(APP, 'dist/index.html'))) {
  log('FAIL --no-build, but dist/ holds no build');
  process.exit(1);
}
const server = await preview({ root: APP, logLevel: 'warn', preview: { host: '127.0.0.1', port: 4173, strictPort: false, open: false } });
const url = server.resolvedUrls.local[0];
log(`serving dist/ at ${url}`);

const executablePath = process.env.DINO_CHROMIUM ?? '/usr/bin/chromium';
let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    // Off the network (the machine has none) and out of a sandbox it cannot make as root.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
} catch (e) {
  await server.close();
  // A developer's machine may lack Chromium; CI sets DINO_REQUIRE_BROWSER=1 (as for the consumer
  // checks), so there the page cannot be skipped.
  if (!existsSync(executablePath) && !process.env.DINO_REQUIRE_BROWSER) {
    log(`SKIP no Chromium at ${executablePath} (apt-get install chromium, or set DINO_CHROMIUM); the page did not run`);
    process.exit(0);
  }
  log(`FAIL cannot start Chromium at ${executablePath} (apt-get install chromium, or set DINO_CHROMIUM): ${e.message}`);
  process.exit(2);
}

// ---- Node's side of the comparisons ---------------------------------------------------------------
await tf.setBackend('wasm');
await registerWasmKernels();

/** CLS features of `pixels` (RGB, HWC) under the weights in `path`, as the page computes them. */
async function nodeCls(path, pixels, size, mean, std) {
  const vit = loadVisionTransformer(new Uint8Array(readFileSync(path)), { source: path });
  const x = tf.tidy(() => tf.expandDims(evalTransform({ data: pixels, width: size, height: size, channels: 3 }, { size, mean, std }), 0));
  const cls = vit.forward(x);
  const data = Array.from(await cls.data());
  tf.dispose([x, cls]);
  vit.dispose();
  return data;
}

/** A zip archive of one stored (uncompressed) entry: the container of a torch.save file. */
function storedZip(name, data) {
  const nameBytes = new TextEncoder().encode(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x21, 12); // 1980-01-01
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x21, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const centralOffset = 30 + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + nameBytes.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), a.length === b.length ? 0 : Infinity);

// ---- the page -------------------------------------------------------------------------------------
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
const consoleLines = [];
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

const state = () => page.evaluate(() => window.__playground);
/** Waits until the page is idle (no task running) and `pred(state)` holds. */
async function settle(pred = 'true', timeout = 60_000) {
  await page.waitForFunction(`window.__playground && window.__playground.busy === 0 && (${pred})`, null, { timeout, polling: 50 });
}
async function shot(name) {
  const path = join(out, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  report.screenshots.push(path);
  return path;
}
/** Pixel statistics of a canvas, read back with getImageData. */
function canvasStats(selector) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    if (!c) return null;
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    const colours = new Set();
    let opaque = 0, visible = 0;
    for (let i = 0; i < data.length; i += 4) {
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      if (data[i + 3] === 255) opaque++;
      if (data[i + 3] > 0) visible++;
    }
    const n = data.length / 4;
    return { width: c.width, height: c.height, colours: colours.size, opaque: opaque / n, visible: visible / n };
  }, selector);
}
/** Drops files on the page as a person would (a DataTransfer on a drop event). */
async function dropFiles(files) {
  const payload = files.map(({ path, name, type }) => ({ b64: readFileSync(path).toString('base64'), name, type: type ?? '' }));
  const dt = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const { b64, name, type } of items) {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], name, { type }));
    }
    return dt;
  }, payload);
  await page.dispatchEvent('main', 'dragenter', { dataTransfer: dt });
  await page.dispatchEvent('main', 'drop', { dataTransfer: dt });
}

let exitCode = 0;
try {
  await page.goto(url);
  await page.waitForFunction(() => window.__playground?.ready || window.__playground?.errors.length > 0, null, { timeout: 60_000 });
  await settle();
  let s = await state();
  check('the page starts without errors', s.errors.length === 0, s.errors.join('; '));

  // 1. The engine: tfjs-backend-wasm with the dino-ts kernels, in both workers, cross-origin isolated.
  for (const [who, b] of [['inference', s.backend], ['training', s.trainBackend]]) {
    check(`${who} worker runs wasm with the dino-ts kernels`, b.backend === 'wasm' && b.kernels > 0 && b.binary === 'simd', `${b.backend}, ${b.kernels} kernels, ${b.binary} build, relaxed SIMD GEMM ${b.relaxedSimdGemm}`);
  }
  check('the page is cross-origin isolated (COOP/COEP)', s.backend.capabilities.crossOriginIsolated && (await page.evaluate(() => crossOriginIsolated)));
  const headers = (await page.request.get(url)).headers();
  check('the server sends COOP and COEP', headers['cross-origin-opener-policy'] === 'same-origin' && headers['cross-origin-embedder-policy'] === 'require-corp');

  // 2. The demo teacher and its architecture.
  const m = s.model;
  check('the demo teacher loads with its architecture', m.format === 'safetensors' && m.storedDtype === 'F16' && m.embedDim === 64 && m.depth === 4 && m.numHeads === 4 && m.numHeadsFrom === 'metadata' && m.patchSize === 4 && m.imgSize === 32, `ViT ${m.embedDim}x${m.depth}, ${m.numHeads} heads (${m.numHeadsFrom}), patch ${m.patchSize}, ${m.imgSize} px, ${m.storedDtype}`);
  const modelInfo = await page.textContent('#model-info');
  check('the architecture is shown', modelInfo.includes('64 wide') && modelInfo.includes('4 heads'), modelInfo.slice(0, 120));
  report.timings.pageModelLoadCold = s.model.ms.total;
  check('the first neighbours extract the gallery\'s features', s.neighbours.trained && !s.neighbours.trained.featuresCached);
  report.timings.pageGalleryFeatures = s.neighbours.trained.ms.features;

  // 3. Property 1: pixels of the drawn maps and masks.
  const trained = '[data-network=trained]';
  const heat = await canvasStats(`${trained} canvas[data-kind=mean-heat]`);
  check('the head-mean attention map is drawn (not blank)', heat && heat.width === 32 && heat.colours >= 4 && heat.opaque === 1, JSON.stringify(heat));
  const mask = await canvasStats(`${trained} canvas[data-kind=mean-mask]`);
  const a = s.analyses.trained;
  check('the 60% mask covers some but not all pixels', mask && mask.visible > 0.02 && mask.visible < 0.98, `${(100 * mask.visible).toFixed(1)}% of pixels drawn, ${(100 * a.meanMaskFraction).toFixed(1)}% of patches`);
  // The layer's pixels: the mask at half opacity, its outline opaque (on both sides of the edge).
  const layer = Object.values(a.meanMask.data);
  let layerVisible = 0;
  for (let i = 3; i < layer.length; i += 4) if (layer[i] > 0) layerVisible++;
  layerVisible /= layer.length / 4;
  check('the mask drawn is the mask computed', mask.visible === layerVisible && layerVisible >= a.meanMaskFraction, `${(100 * layerVisible).toFixed(1)}% in the worker's layer (mask and outline)`);
  const heads = await page.$$eval(`${trained} canvas[data-kind=head-heat]`, (cs) => cs.length);
  check('one attention map and mask per head', heads === 4 && (await page.$$eval(`${trained} canvas[data-kind=head-mask]`, (cs) => cs.length)) === 4);
  const pca = await canvasStats(`${trained} canvas[data-kind=pca]`);
  check('the PCA map of the patch features is drawn', pca && pca.colours >= 8, `${pca.colours} colours; explained ${a.pcaExplained.map((e) => (100 * e).toFixed(0)).join('/')}%`);
  check('shapes samples get a Jaccard per head', a.jaccard && a.jaccard.perHead.length === 4 && a.jaccard.perHead.every((j) => j >= 0 && j <= 1), `best head ${Math.max(...a.jaccard.perHead).toFixed(2)}, mean ${a.jaccard.mean.toFixed(2)}`);

  // The same sample drawn by Node's shapes generator is the same picture.
  const spec = m.shapes;
  const nodeShapes = new ShapesDataset({ length: 1, size: 32, seed: spec.testSeed, classes: SHAPE_CLASS_NAMES.slice(0, spec.classes), clutter: spec.clutter, maxRotation: spec.maxRotation, placement: spec.placement, palette: spec.palette, textures: spec.textures });
  const samePixels = maxAbsDiff(Array.from(nodeShapes.getSync(0).image), Object.values(s.image.pixels)) === 0;
  check('the page draws the shapes Node draws (same bytes)', samePixels);

  // The random-init comparison.
  await page.check('input[name=network][value=both]');
  await settle(`window.__playground.analyses.random && window.__playground.neighbours.random`);
  s = await state();
  const rnd = await canvasStats('[data-network=random] canvas[data-kind=mean-heat]');
  check('random init is shown beside the model', rnd && rnd.colours >= 2 && s.analyses.random.jaccard, `random: best head J ${Math.max(...s.analyses.random.jaccard.perHead).toFixed(2)}, trained: ${Math.max(...s.analyses.trained.jaccard.perHead).toFixed(2)}`);
  await shot('1-demo-teacher-both');
  await page.check('input[name=network][value=trained]');
  await settle('!window.__playground.analyses.random');

  // 4. Property 2: neighbours in the gallery, and held-out k-NN accuracy, trained against random.
  s = await state();
  const nb = s.neighbours.trained;
  const thumbs = await page.$$eval(`#neighbours ${trained} [data-kind=neighbour] canvas`, (cs) => cs.map((c) => c.width));
  const sims = nb.neighbours.map((n) => n.similarity);
  check('k nearest neighbours are shown with labels and similarities', thumbs.length === 8 && nb.neighbours.every((n) => spec && SHAPE_CLASS_NAMES.includes(n.label)) && sims.every((v, i) => i === 0 || v <= sims[i - 1] + 1e-6) && sims.every((v) => v <= 1 + 1e-5 && v >= -1 - 1e-5), `vote ${nb.vote} (truth ${nb.truth}); ${nb.neighbours.map((n) => `${n.label} ${n.similarity.toFixed(4)}`).join(', ')}`);
  await page.selectOption('#knn-bank', '512');
  await page.selectOption('#knn-test', '256');
  await page.click('#knn-accuracy');
  await settle('window.__playground.knn', 90_000);
  s = await state();
  check('held-out k-NN: the trained teacher beats random init', s.knn.trained > s.knn.random && s.knn.trained > s.knn.chance, `trained ${s.knn.trained.toFixed(1)}%, random ${s.knn.random.toFixed(1)}%, chance ${s.knn.chance.toFixed(1)}% (bank ${s.knn.bank}, held out ${s.knn.heldOut}), ${(s.knn.ms.total / 1000).toFixed(1)} s`);
  report.timings.pageKnnAccuracy = s.knn.ms.total;

  // Keyboard: N draws the next sample; Tab reaches every control.
  const before = s.refreshes;
  await page.focus('body');
  await page.keyboard.press('n');
  await settle(`window.__playground.refreshes > ${before}`);
  s = await state();
  check('the N key draws the next shapes sample', s.image.shapesIndex === 1, s.image.name);
  const focused = [];
  await page.focus('#load-demo');
  for (let i = 0; i < 40; i++) {
    focused.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('name') || document.activeElement?.tagName));
    await page.keyboard.press('Tab');
  }
  const needed = ['load-demo', 'weights-input', 'next-sample', 'image-input', 'network', 'gallery-input', 'knn-accuracy', 'train-start'];
  check('Tab reaches every control', needed.every((id) => focused.includes(id)), needed.filter((id) => !focused.includes(id)).join(', ') || 'all of them');
  await page.focus('#next-sample');
  await page.keyboard.press('Enter');
  await settle(`window.__playground.image.shapesIndex === 2 && window.__playground.refreshes > ${s.refreshes}`);
  check('Enter on a focused button works', true);

  // Page timings of property 1: a few more samples, the median; no tensor may be left behind.
  const tensorsBefore = (await page.evaluate(() => window.__playgroundTensors())).engine;
  const analysisMs = [], attentionMs = [], pcaMs = [], searchMs = [];
  for (let i = 0; i < 5; i++) {
    const r = (await state()).refreshes;
    await page.keyboard.press('n');
    await settle(`window.__playground.refreshes > ${r}`);
    const st = await state();
    analysisMs.push(st.analyses.trained.ms.total);
    attentionMs.push(st.analyses.trained.ms.attention);
    pcaMs.push(st.analyses.trained.ms.pca);
    searchMs.push(st.neighbours.trained.ms.search);
  }
  const tensorsAfter = (await page.evaluate(() => window.__playgroundTensors())).engine;
  check('the inference worker frees every tensor it makes', tensorsAfter === tensorsBefore, `${tensorsBefore} tensors alive before 5 pictures (attention, PCA, neighbours), ${tensorsAfter} after`);
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  Object.assign(report.timings, { pageAttention: median(attentionMs), pagePca: median(pcaMs), pageAnalysis: median(analysisMs), pageKnnQuery: median(searchMs) });

  // 5. Weights dropped on the page: a Hugging Face F16 safetensors and a .pth; CLS against Node.
  await page.fill('#sample-index', '0');
  await page.dispatchEvent('#sample-index', 'change');
  await settle('window.__playground.image.shapesIndex === 0');
  for (const [file, expect] of [
    ['vit_hf_f16.safetensors', { format: 'safetensors', naming: 'huggingface', storedDtype: 'F16' }],
    ['vit.pth', { format: 'pth', naming: 'reference', storedDtype: 'F32' }],
  ]) {
    const r = (await state()).refreshes;
    await dropFiles([{ path: join(FIXTURES, file), name: file }]);
    await settle(`window.__playground.model.name === ${JSON.stringify(file)} && window.__playground.refreshes > ${r}`);
    s = await state();
    const mm = s.model;
    check(`dropped ${file} loads, its architecture read off the tensors`, mm.format === expect.format && mm.naming === expect.naming && mm.storedDtype === expect.storedDtype && mm.embedDim === 128 && mm.depth === 2 && mm.numHeads === 2 && mm.patchSize === 8, `${mm.format}, ${mm.naming} names, ${mm.storedDtype}; ViT ${mm.embedDim}x${mm.depth}, ${mm.numHeads} heads, patch ${mm.patchSize}, ${mm.imgSize} px`);
    const pixels = Object.values(s.image.pixels);
    const expected = await nodeCls(join(FIXTURES, file), pixels, mm.imgSize, mm.mean, mm.std);
    const got = Object.values(s.analyses.trained.cls);
    const diff = maxAbsDiff(got, expected);
    check(`${file}: the page's CLS features equal Node's within 1e-4`, diff < 1e-4, `max |page - Node| = ${diff.toExponential(2)} over ${got.length} values`);
    const heatF = await canvasStats(`${trained} canvas[data-kind=mean-heat]`);
    check(`${file}: attention maps drawn for the new model`, heatF && heatF.colours >= 2 && heatF.width === 32);
  }
  await shot('2-dropped-pth');

  // A hostile .pth (a pickle calling os.system) is refused with a message; the model stays.
  const evil = join(out, 'evil.pth');
  writeFileSync(evil, storedZip('archive/data.pkl', Uint8Array.from("\x80\x02cos\nsystem\nX\x02\x00\x00\x00idtR.", (c) => c.charCodeAt(0))));
  const errorsBefore = (await state()).errors.length;
  await dropFiles([{ path: evil, name: 'evil.pth' }]);
  await settle(`window.__playground.errors.length > ${errorsBefore}`);
  s = await state();
  check('a pickle that asks for code is refused, and the model stays', s.errors.at(-1).includes('os.system') && s.model.name === 'vit.pth' && (await page.textContent('#errors')).includes('os.system'), s.errors.at(-1));

  // A picture of the user's own, by the file picker and by pasting (a PNG of this page).
  const png = join(out, 'picture.png');
  await page.screenshot({ path: png, clip: { x: 0, y: 0, width: 300, height: 200 } });
  await page.click('#load-demo');
  await settle(`window.__playground.model.name.startsWith('demo teacher')`);
  let r0 = (await state()).refreshes;
  await page.setInputFiles('#image-input', png);
  await settle(`window.__playground.image.name === 'picture.png' && window.__playground.refreshes > ${r0}`);
  s = await state();
  check('a picture from the file picker goes through the evaluation transform', s.image.input.width === 32 && s.image.originalSize.join('x') === '200x300' && !s.image.mask, `${s.image.originalSize.join('x')} -> ${s.image.input.width}x${s.image.input.height}`);
  r0 = s.refreshes;
  await page.evaluate(async (b64) => {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
  }, readFileSync(png).toString('base64'));
  await settle(`window.__playground.image.name === 'pasted.png' && window.__playground.refreshes > ${r0}`);
  check('a pasted picture is analysed', (await state()).analyses.trained?.numHeads === 4);
  await page.fill('#sample-index', '0');
  await page.dispatchEvent('#sample-index', 'change');
  await settle('window.__playground.image.shapesIndex === 0');

  // 6. Training in the worker while a main-thread timer ticks; the stop button; the checkpoint.
  await page.selectOption('#train-size', 'preset');
  await page.fill('#train-steps', '200');
  await page.fill('#train-batch', '32');
  // A few steps for the checks; a longer run when the README's picture is being made, so its
  // curves show something.
  const trainSteps = opts['update-screenshot'] ? 96 : 4;
  await page.fill('#train-monitor', opts['update-screenshot'] ? '16' : '3');
  await page.evaluate(() => {
    window.__ticks = [];
    window.__ticker = setInterval(() => window.__ticks.push(performance.now()), 20);
  });
  await page.click('#train-start');
  await page.waitForFunction((n) => window.__playground.training.steps.length >= n && window.__playground.training.monitor.length >= 2, trainSteps, { timeout: 120_000, polling: 50 });
  await page.click('#train-stop');
  await settle('window.__playground.training.summary', 60_000);
  const ticks = await page.evaluate(() => {
    clearInterval(window.__ticker);
    return window.__ticks;
  });
  s = await state();
  const t = s.training;
  const losses = t.steps.map((x) => x.loss);
  let maxGap = 0;
  for (let i = 1; i < ticks.length; i++) maxGap = Math.max(maxGap, ticks[i] - ticks[i - 1]);
  check('training runs in the worker and the loss changes', losses.length >= 4 && losses.every(Number.isFinite) && Math.max(...losses) - Math.min(...losses) > 1e-4, `losses ${losses.map((l) => l.toFixed(4)).join(', ')}; teacher entropy ${t.steps.at(-1).teacherEntropy.toFixed(3)}`);
  check('the page stays responsive while training (main-thread timer)', ticks.length > 50 && maxGap < 250, `${ticks.length} ticks of 20 ms over ${((ticks.at(-1) - ticks[0]) / 1000).toFixed(1)} s, longest gap ${maxGap.toFixed(0)} ms`);
  check('the stop button stops the run', t.summary.stopped && t.summary.steps < 200, `stopped after ${t.summary.steps} steps`);
  check('the k-NN monitor reports during training', t.monitor.length >= 2 && t.monitor.every((x) => x.top1 >= 0 && x.top1 <= 100), t.monitor.map((x) => `step ${x.step}: ${x.top1.toFixed(1)}%`).join(', '));
  const lossChart = await canvasStats('#loss-chart');
  check('the loss curve is drawn', lossChart && lossChart.colours >= 3);
  const stepMs = t.steps.slice(1).map((x) => x.ms);
  report.timings.pageTrainStep = median(stepMs);
  await shot('3-training');

  // The checkpoint: the teacher backbone and the training state, read back in Node and by `dino`.
  const [teacherDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-teacher')]);
  const teacherPath = join(out, teacherDl.suggestedFilename());
  await teacherDl.saveAs(teacherPath);
  const [stateDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-state')]);
  const statePath = join(out, stateDl.suggestedFilename());
  await stateDl.saveAs(statePath);
  const teacherFile = readWeights(new Uint8Array(readFileSync(teacherPath)), { source: teacherPath });
  check('the downloaded teacher reads back with its architecture', teacherFile.arch.numHeads === 4 && teacherFile.numHeadsFrom === 'metadata' && teacherFile.arch.embedDim === 64 && teacherFile.naming === 'reference', `${teacherDl.suggestedFilename()}: ${JSON.stringify(teacherFile.arch)}`);
  const stateFile = decodeSafetensors(readFileSync(statePath), statePath);
  const names = Object.keys(stateFile.tensors);
  check('the downloaded training state holds student, teacher, optimizer and center', ['student.backbone.', 'teacher.backbone.', 'teacher.head.', 'optimizer.', 'dino_loss.'].every((p) => names.some((n) => n.startsWith(p))), `${names.length} tensors`);
  const dinoBin = join(dirname(fileURLToPath(import.meta.resolve('@dino-ts/trainer'))), 'bin.js');
  const converted = join(out, 'teacher-from-page.pth');
  const conv = spawnSync(process.execPath, [dinoBin, 'convert', teacherPath, converted], { encoding: 'utf8' });
  check('`dino convert` reads the downloaded teacher', conv.status === 0 && existsSync(converted), (conv.stdout + conv.stderr).trim().split('\n').at(-1));

  // The page looks at the teacher it trained.
  const r1 = (await state()).refreshes;
  await page.click('#use-teacher');
  await settle(`window.__playground.model.name.startsWith('teacher trained in this page') && window.__playground.refreshes > ${r1}`);
  check('the trained teacher is shown in the viewer', (await state()).analyses.trained.numHeads === 4);

  // Back to the demo teacher (a warm load), both networks side by side, the training curves
  // still drawn: the README's picture. The refused pickle's message is dismissed first.
  for (const close of await page.$$('#errors button')) await close.click();
  check('error messages can be dismissed', (await page.$$('#errors p')).length === 0);
  await page.click('#load-demo');
  await settle(`window.__playground.model.name.startsWith('demo teacher')`);
  report.timings.pageModelLoad = (await state()).model.ms.total;
  await page.check('input[name=network][value=both]');
  await settle('window.__playground.analyses.random && window.__playground.neighbours.random');
  const main = await shot('playground');
  if (opts['update-screenshot']) {
    copyFileSync(main, join(APP, 'screenshot.png'));
    log('updated screenshot.png');
  }

  // Phone width: no sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  await settle();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('readable at phone width (no horizontal overflow at 390 px)', overflow <= 1, `${overflow} px too wide`);
  for (const [name, selector] of [['4-phone-top', 'body'], ['5-phone-property-1', '#p1-panel'], ['6-phone-training', '#train-panel']]) {
    await page.locator(selector).first().scrollIntoViewIfNeeded();
    if (selector === 'body') await page.evaluate(() => window.scrollTo(0, 0));
    const path = join(out, `${name}.png`);
    await page.screenshot({ path });
    report.screenshots.push(path);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // Offline: the service worker serves everything from its cache on a reload.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  await context.setOffline(true);
  await page.reload();
  await page.waitForFunction(() => window.__playground?.ready || window.__playground?.errors.length > 0, null, { timeout: 60_000 });
  await settle();
  s = await state();
  check('the page works offline once loaded', s.errors.length === 0 && s.model.numHeads === 4 && s.analyses.trained && s.neighbours.trained, s.errors.join('; ') || 'demo teacher, attention and neighbours from the cache');
  check('offline, the page is still cross-origin isolated', await page.evaluate(() => crossOriginIsolated));
  await context.setOffline(false);

  // Served without the isolation headers (and no service worker to add them): threads are off,
  // the page says so and works on the dino-ts kernels.
  const plain = createServer((req, res) => {
    const path = join(APP, 'dist', decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/\/$/, '/index.html'));
    if (!path.startsWith(join(APP, 'dist')) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  await new Promise((ok) => plain.listen(0, '127.0.0.1', ok));
  const plainContext = await browser.newContext({ serviceWorkers: 'block' });
  try {
    const p2 = await plainContext.newPage();
    await p2.goto(`http://127.0.0.1:${plain.address().port}/`);
    await p2.waitForFunction(() => window.__playground?.ready || window.__playground?.errors.length > 0, null, { timeout: 60_000 });
    const st = await p2.evaluate(() => window.__playground);
    const notes = await p2.textContent('#notes');
    check('without COOP/COEP the page says threads are off and still runs the dino-ts kernels', !st.backend.capabilities.crossOriginIsolated && st.backend.kernels > 0 && st.errors.length === 0 && notes.includes('not cross-origin isolated'), notes.trim().slice(0, 110));
  } finally {
    await plainContext.close();
    plain.close();
  }

  // The stock engine, multi-threaded, for comparison.
  await page.goto(`${url}?engine=stock`);
  await page.waitForFunction(() => window.__playground?.ready || window.__playground?.errors.length > 0, null, { timeout: 60_000 });
  await settle();
  s = await state();
  check('the stock engine runs the threaded tfjs-wasm build without the dino-ts kernels', s.errors.length === 0 && s.backend.binary === 'threaded-simd' && s.backend.kernels === 0, `${s.backend.binary}, XNNPACK threads: ${s.backend.threads}`);
  report.timings.stockThreads = s.backend.threads;
  report.timings.stockGalleryFeatures = s.neighbours.trained.ms.features;
  const stockAnalysis = [];
  for (let i = 0; i < 3; i++) {
    const r = (await state()).refreshes;
    await page.keyboard.press('n');
    await settle(`window.__playground.refreshes > ${r}`);
    stockAnalysis.push((await state()).analyses.trained.ms.total);
  }
  report.timings.stockAnalysis = median(stockAnalysis);

  const stats = await page.evaluate(() => window.__playground.timings);
  report.timings.pageLog = stats;
} catch (e) {
  exitCode = 1;
  if (!(e instanceof CheckFailed)) log(`FAIL ${e.stack ?? e}`);
  log(`browser console (last lines):\n  ${consoleLines.slice(-15).join('\n  ')}`);
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
  await server.close();
}

// ---- timings ---------------------------------------------------------------------------------
if (exitCode === 0) {
  const p = report.timings;
  const rows = [
    ['model load (demo teacher, 410 KB; page: warm)', p.pageModelLoad, 'modelLoad'],
    ['attention + masks, one image', p.pageAttention, 'attention'],
    ['PCA of the patch features', p.pagePca, 'pca'],
    ['gallery features (512 shapes)', p.pageGalleryFeatures, 'galleryFeatures'],
    ['k-NN query over the gallery', p.pageKnnQuery, 'knnQuery'],
    ['held-out k-NN, trained + random (512 / 256)', p.pageKnnAccuracy, 'knnAccuracy'],
    ['one DINO step (64x4 ViT, batch 32, 2+4 crops)', p.pageTrainStep, 'trainStep'],
  ];
  let node = null;
  if (opts['node-bench']) {
    log('timing the same operations in Node');
    const { nodeBench } = await import('../bench/node-bench.mjs');
    node = await nodeBench();
    report.node = node;
  }
  log(`timings (median ms)${node ? ', page | Node' : ''}:`);
  for (const [label, page, key] of rows) {
    process.stdout.write(`  ${label.padEnd(52)} ${page.toFixed(1).padStart(9)}${node ? ` | ${node.ms[key].toFixed(1).padStart(9)}` : ''}\n`);
  }
  process.stdout.write(`  first model load of the page (cold)                  ${p.pageModelLoadCold.toFixed(1).padStart(9)}\n`);
  process.stdout.write(`  page, stock tfjs-wasm (threaded build, ${p.stockThreads} XNNPACK thread${p.stockThreads > 1 ? 's' : ''}): attention + PCA ${p.stockAnalysis.toFixed(1)} ms (dino-ts: ${p.pageAnalysis.toFixed(1)}), gallery features ${p.stockGalleryFeatures.toFixed(0)} ms (dino-ts: ${p.pageGalleryFeatures.toFixed(0)})\n`);
}
writeFileSync(join(out, 'report.json'), JSON.stringify(report, null, 2));
log(`${exitCode === 0 ? 'all checks passed' : 'FAILED'} (${report.checks.filter((c) => c.ok).length} checks); screenshots and report.json in ${out}`);
process.exit(exitCode);
