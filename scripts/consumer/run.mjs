#!/usr/bin/env node
/**
 * The packages as a stranger meets them: every package packed with `pnpm pack`, the tarballs
 * installed with npm into a new project outside the workspace, and then
 *
 *   - size:    the tarballs' sizes, and no dist carrying a copy of tfjs-core;
 *   - node:    ESM and CJS scripts, with dino-ts imported before and after tfjs-core, each run
 *              a DINO training step on one tfjs engine;
 *   - types:   `tsc --strict` over consumer files for node16 (CJS and ESM), nodenext, bundler;
 *   - lint:    `attw` on every tarball and `publint` on every package;
 *   - browser: an esbuild browser bundle of every library's main entry, run in headless
 *              Chromium on tfjs-backend-wasm with the dino-ts kernels;
 *   - readme:  every ts/js block of the installed READMEs, run as written;
 *   - cli:     the installed `dino` command.
 *
 * Usage: node scripts/consumer/run.mjs [--only step,step] [--keep]
 * Run after `pnpm build`. Needs the npm registry (the tfjs peers are installed from it) and, for
 * the browser step, Chromium (Debian's `chromium`; DINO_CHROMIUM overrides the path). Without
 * Chromium the page is skipped with a note, unless DINO_REQUIRE_BROWSER is set (CI sets it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HERE = join(ROOT, 'scripts/consumer');
const BIN = join(ROOT, 'node_modules/.bin');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const keep = args.includes('--keep');
const STEPS = ['size', 'node', 'types', 'lint', 'browser', 'readme', 'cli'];
const wanted = (step) => !only || only.includes(step);

const LIBRARIES = ['core', 'augment', 'backbones', 'head', 'dino', 'data', 'eval', 'wasm-kernels', 'weights', 'onnx'];
const PACKAGES = [...LIBRARIES.map((n) => ({ name: `@dino-ts/${n}`, dir: join(ROOT, 'packages', n) })), { name: '@dino-ts/trainer', dir: join(ROOT, 'apps/trainer') }];
// The peers a user installs beside the packages, at the versions the workspace tests.
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TFJS = rootPkg.devDependencies['@tensorflow/tfjs-core'];
const PEERS = {
  '@tensorflow/tfjs-core': TFJS,
  '@tensorflow/tfjs-backend-wasm': TFJS,
  '@tensorflow/tfjs-backend-cpu': TFJS,
  sharp: JSON.parse(readFileSync(join(ROOT, 'packages/data/package.json'), 'utf8')).devDependencies.sharp,
};

const failures = [];
const t0 = Date.now();
function log(msg) {
  process.stdout.write(`[consumer ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
}
function check(step, ok, message) {
  if (!ok) failures.push(`${step}: ${message}`);
  log(`${ok ? 'ok  ' : 'FAIL'} ${step}: ${message}`);
}
function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeout ?? 600_000, ...opts });
  return { code: r.status ?? (r.error ? -1 : 1), out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}
function tail(text, n = 30) {
  return text.trim().split('\n').slice(-n).join('\n');
}

for (const p of PACKAGES) {
  if (!existsSync(join(p.dir, 'dist'))) {
    console.error(`${p.name}: dist is missing; run \`pnpm build\` first.`);
    process.exit(2);
  }
}

const work = mkdtempSync(join(tmpdir(), 'dino-ts-consumer-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
mkdirSync(tarballs);
mkdirSync(app);
log(`project: ${app}`);

// ---- pack and install ------------------------------------------------------------------------
const packed = new Map();
for (const p of PACKAGES) {
  const r = sh('pnpm', ['pack', '--pack-destination', tarballs], { cwd: p.dir });
  if (r.code !== 0) {
    console.error(`pnpm pack failed for ${p.name}:\n${r.out}`);
    process.exit(1);
  }
  const file = readdirSync(tarballs).find((f) => f.startsWith(p.name.replace('@', '').replace('/', '-') + '-') && !([...packed.values()].includes(join(tarballs, f))));
  packed.set(p.name, join(tarballs, file));
}
const fileDeps = Object.fromEntries([...packed].map(([name, file]) => [name, `file:${file}`]));
writeFileSync(
  join(app, 'package.json'),
  JSON.stringify(
    {
      name: 'dino-ts-consumer',
      private: true,
      type: 'module',
      dependencies: { ...fileDeps, ...PEERS },
      // The packages depend on each other by version; these point those at the local tarballs.
      overrides: fileDeps,
    },
    null,
    2,
  ),
);
cpSync(join(HERE, 'app'), app, { recursive: true });
log('npm install (the tarballs and the tfjs peers) ...');
const install = sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, timeout: 900_000 });
if (install.code !== 0) {
  console.error(`npm install failed:\n${tail(install.out, 60)}`);
  process.exit(1);
}
log('installed');

// ---- size: tarball sizes, no tfjs-core inside --------------------------------------------------
if (wanted('size')) {
  const rows = [];
  for (const [name, file] of packed) {
    const listing = execFileSync('tar', ['tzvf', file], { encoding: 'utf8' });
    const files = listing.trim().split('\n');
    const unpacked = files.reduce((s, line) => s + Number(line.split(/\s+/)[2] || 0), 0);
    rows.push(`${name.padEnd(24)} ${(statSync(file).size / 1024).toFixed(1).padStart(8)} KB packed ${(unpacked / 1024).toFixed(1).padStart(8)} KB unpacked ${String(files.length).padStart(4)} files`);
    const hasLicense = files.some((l) => l.endsWith('package/LICENSE'));
    const hasReadme = files.some((l) => l.endsWith('package/README.md'));
    check('size', hasLicense && hasReadme, `${name} ships LICENSE and README.md`);
    const maps = files.filter((l) => l.endsWith('.map'));
    check('size', maps.length === 0, `${name} ships no source maps`);
  }
  log(`tarballs:\n  ${rows.join('\n  ')}`);
  const coreKb = statSync(packed.get('@dino-ts/core')).size / 1024;
  check('size', coreKb < 100, `@dino-ts/core tarball ${coreKb.toFixed(1)} KB (< 100 KB)`);
  // tfjs-core's engine and Tensor class, by the names its bundles give them.
  const markers = ['getOrMakeEngine', '_tfengine', 'class Engine', 'setOpHandler'];
  for (const [name] of packed) {
    const dist = join(app, 'node_modules', name, 'dist');
    const hits = [];
    for (const f of readdirSync(dist, { recursive: true })) {
      const path = join(dist, String(f));
      if (!/\.(c?js|mjs)$/.test(path)) continue;
      const text = readFileSync(path, 'utf8');
      for (const m of markers) if (text.includes(m)) hits.push(`${f} has ${m}`);
    }
    check('size', hits.length === 0, `${name} dist carries no tfjs-core code${hits.length ? `: ${hits.join(', ')}` : ''}`);
  }
}

// ---- node: ESM and CJS, both import orders -----------------------------------------------------
if (wanted('node')) {
  for (const script of ['esm-dino-first.mjs', 'esm-tfjs-first.mjs', 'cjs-dino-first.cjs', 'cjs-tfjs-first.cjs']) {
    const r = sh(process.execPath, [script], { cwd: app, timeout: 300_000 });
    const line = r.out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    let result = null;
    try {
      result = line ? JSON.parse(line) : null;
    } catch {
      result = null;
    }
    const ok = r.code === 0 && result !== null && result.losses.every(Number.isFinite);
    check('node', ok, ok ? `${script}: one engine, 2 DINO steps (loss ${result.losses.map((l) => l.toFixed(4)).join(', ')}), ${result.kernels} dino-ts kernels` : `${script} failed:\n${tail(r.out)}`);
  }
  // The other entry points load under plain Node too.
  const r = sh(process.execPath, ['--input-type=module', '-e', "await import('@dino-ts/data/node'); await import('@dino-ts/eval/node'); const { createRequire } = await import('node:module'); const req = createRequire(process.cwd() + '/'); req('@dino-ts/data/node'); req('@dino-ts/eval/node'); req('@dino-ts/augment'); req('@dino-ts/head'); req('@dino-ts/eval'); console.log('ok');"], { cwd: app });
  check('node', r.code === 0, r.code === 0 ? 'every entry point loads through import and require' : `an entry point does not load:\n${tail(r.out)}`);
}

// ---- types: strict tsc for every resolution mode -------------------------------------------------
if (wanted('types')) {
  cpSync(join(HERE, 'types'), join(app, 'types'), { recursive: true });
  // One consumer file, compiled as an ES module (.mts) and as CommonJS (.cts) under node16 and
  // nodenext, and as a bundler's module (.ts).
  const consumer = readFileSync(join(app, 'types', 'consumer.ts'), 'utf8');
  for (const ext of ['mts', 'cts']) writeFileSync(join(app, 'types', `consumer.${ext}`), consumer);
  for (const config of readdirSync(join(app, 'types')).filter((f) => f.startsWith('tsconfig.'))) {
    const r = sh(join(BIN, 'tsc'), ['-p', join('types', config)], { cwd: app });
    check('types', r.code === 0, r.code === 0 ? `tsc ${config}` : `tsc ${config}:\n${tail(r.out)}`);
  }
}

// ---- lint: attw and publint ----------------------------------------------------------------------
if (wanted('lint')) {
  for (const [name, file] of packed) {
    // The trainer is a command with an ESM-only library entry; the libraries serve both.
    const profile = name === '@dino-ts/trainer' ? ['--profile', 'esm-only'] : [];
    const r = sh(join(BIN, 'attw'), [file, '--format', 'ascii', ...profile], { cwd: app });
    check('lint', r.code === 0, r.code === 0 ? `attw ${name}` : `attw ${name}:\n${tail(r.out)}`);
  }
  for (const p of PACKAGES) {
    const r = sh(join(BIN, 'publint'), ['--strict', p.dir], { cwd: ROOT });
    const clean = r.code === 0 && !/warning|error|suggestion/i.test(r.out.replace(/^.*All good!.*$/m, ''));
    check('lint', clean, clean ? `publint ${p.name}` : `publint ${p.name}:\n${tail(r.out)}`);
  }
}

// ---- browser: a bundled page in headless Chromium ---------------------------------------------
if (wanted('browser')) {
  const site = join(app, 'browser');
  cpSync(join(HERE, 'browser'), site, { recursive: true });
  const r = sh(join(BIN, 'esbuild'), ['entry.ts', '--bundle', '--platform=browser', '--format=esm', '--target=es2022', '--outfile=bundle.js', '--log-level=warning'], { cwd: site });
  check('browser', r.code === 0, r.code === 0 ? `esbuild --platform=browser bundle of every library (${(statSync(join(site, 'bundle.js')).size / 1024).toFixed(0)} KB)` : `the browser bundle fails:\n${tail(r.out)}`);
  // Each library's main entry alone, too: a page that uses one package must not need the rest's externals.
  for (const lib of LIBRARIES) {
    const one = sh(join(BIN, 'esbuild'), ['--bundle', '--platform=browser', '--format=esm', '--log-level=error', `--outfile=${join(work, `one-${lib}.js`)}`], {
      cwd: app,
      input: `export * from '@dino-ts/${lib}';`,
    });
    check('browser', one.code === 0, one.code === 0 ? `@dino-ts/${lib} main entry bundles for the browser` : `@dino-ts/${lib} does not bundle for the browser:\n${tail(one.out)}`);
  }
  const chromium = process.env.DINO_CHROMIUM ?? '/usr/bin/chromium';
  if (r.code === 0 && !existsSync(chromium) && !process.env.DINO_REQUIRE_BROWSER) {
    // A developer's machine may lack Chromium; CI sets DINO_REQUIRE_BROWSER=1, so there the
    // page cannot be skipped.
    log(`SKIP browser: no Chromium at ${chromium} (apt-get install chromium, or set DINO_CHROMIUM); the page did not run`);
  } else if (r.code === 0) {
    mkdirSync(join(site, 'wasm'));
    const wasmDist = join(app, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
    for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) cpSync(join(wasmDist, f), join(site, 'wasm', f));
    const result = await runPage(site);
    const ok =
      result &&
      !result.error &&
      result.backend === 'wasm' &&
      result.kernels > 0 &&
      result.clsFinite &&
      result.clsShape.join() === '2,32' &&
      result.headOk &&
      result.maskCount > 0 &&
      result.knnTop1 === 100 &&
      result.losses.length === 2 &&
      result.losses.every(Number.isFinite);
    check('browser', Boolean(ok), ok ? `Chromium ran a ViT forward (CLS [${result.clsShape}]), an attention mask (${result.maskCount} of 16 patches), a k-NN vote (${result.knnTop1}%) and 2 DINO steps (loss ${result.losses.map((l) => l.toFixed(4)).join(', ')}) on wasm with ${result.kernels} dino-ts kernels${result.relaxedSimd ? ' (relaxed SIMD)' : ''}` : `the page failed: ${JSON.stringify(result)}`);
    // The same page cross-origin isolated, its kernels on 2 threads (Web Workers on the shared
    // memory of tfjs's threaded build), every call split: the same bits as one thread, and the
    // same DINO steps (tfjs's own threaded kernels may round differently, hence a tolerance).
    const iso = await runPage(site, { isolated: true, query: '?threads=2' });
    const isoOk =
      iso && !iso.error && iso.crossOriginIsolated === true && iso.threads === 2 && iso.sameBits === true &&
      ok && iso.losses.length === 2 && iso.losses.every((l, i) => Math.abs(l - result.losses[i]) < 1e-4);
    check('browser', Boolean(isoOk), isoOk ? `cross-origin isolated, the kernels ran on 2 threads (Web Workers): the same bits as 1 thread, DINO losses ${iso.losses.map((l) => l.toFixed(4)).join(', ')}` : `the isolated page with 2 kernel threads failed: ${JSON.stringify(iso)}`);
  }
}

// ---- readme: the installed READMEs' examples, as written -----------------------------------------
if (wanted('readme')) {
  const dir = join(app, 'readme');
  mkdirSync(dir);
  for (const [name] of packed) {
    const readme = join(app, 'node_modules', name, 'README.md');
    if (!existsSync(readme)) {
      check('readme', false, `${name} has no README.md`);
      continue;
    }
    const text = readFileSync(readme, 'utf8');
    const blocks = [...text.matchAll(/^```(ts|js|typescript|javascript)[ \t]*\n([\s\S]*?)^```/gm)];
    blocks.forEach((m, i) => {
      const base = `${name.split('/')[1]}-${i + 1}`;
      const src = join(dir, `${base}.${m[1].startsWith('t') ? 'ts' : 'js'}`);
      writeFileSync(src, m[2]);
      const out = join(dir, `${base}.mjs`);
      const build = sh(join(BIN, 'esbuild'), [src, '--format=esm', '--platform=node', '--target=es2022', `--outfile=${out}`, '--log-level=error'], { cwd: app });
      const run = build.code === 0 ? sh(process.execPath, [out], { cwd: app, timeout: 180_000 }) : build;
      check('readme', run.code === 0, run.code === 0 ? `${name} README example ${i + 1} runs (${tail(run.out, 1) || 'no output'})` : `${name} README example ${i + 1}:\n${tail(run.out)}`);
    });
  }
}

// ---- cli: the installed command ----------------------------------------------------------------
if (wanted('cli')) {
  const version = JSON.parse(readFileSync(join(ROOT, 'apps/trainer/package.json'), 'utf8')).version;
  const r = sh(join(app, 'node_modules/.bin/dino'), ['--version'], { cwd: app });
  check('cli', r.code === 0 && r.out.trim() === version, `dino --version prints ${JSON.stringify(r.out.trim())}`);
  const info = sh(join(app, 'node_modules/.bin/dino'), ['info', '--backend', 'wasm'], { cwd: app });
  check('cli', info.code === 0, info.code === 0 ? 'dino info runs from the installed package' : `dino info:\n${tail(info.out)}`);
}

if (!keep) rmSync(work, { recursive: true, force: true });
log(failures.length === 0 ? `all consumer checks passed (${STEPS.filter(wanted).join(', ')})` : `${failures.length} consumer check(s) failed:\n- ${failures.join('\n- ')}`);
process.exit(failures.length === 0 ? 0 : 1);

/**
 * Serves `site` on localhost and opens it in headless Chromium; returns what the page reports.
 * `isolated`: with the headers that make the page cross-origin isolated (SharedArrayBuffer).
 */
async function runPage(site, { isolated = false, query = '' } = {}) {
  const { chromium } = await import('playwright-core');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const coi = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = createServer((req, res) => {
    const path = join(site, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!path.startsWith(site) || !existsSync(path) || statSync(path).isDirectory()) {
      res.writeHead(path.endsWith('/') ? 200 : 404, { 'content-type': 'text/html', ...coi });
      res.end(path.endsWith('/') ? readFileSync(join(site, 'index.html')) : 'not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream', ...coi });
    res.end(readFileSync(path));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/${query}`;
  const executablePath = process.env.DINO_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    server.close();
    return { error: `no Chromium at ${executablePath} (apt-get install chromium, or set DINO_CHROMIUM)` };
  }
  // The flags keep Chromium off the network (this machine has none) and out of a sandbox it
  // cannot make as root.
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const consoleLines = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => consoleLines.push(m.text()));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.__dino !== undefined, null, { timeout: 240_000 });
    const result = await page.evaluate(() => window.__dino);
    if (result.error) result.console = consoleLines.slice(-10);
    return result;
  } catch (e) {
    return { error: String(e), console: consoleLines.slice(-10) };
  } finally {
    await browser.close();
    server.close();
  }
}
