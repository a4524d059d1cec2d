/**
 * The playground's build: a static site (relative base, so it works from any folder of any host),
 * two module workers, tfjs-backend-wasm's binaries under wasm/, and a service worker that
 * precaches every file of the build so the page works offline once loaded.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Cross-origin isolation: WebAssembly threads need SharedArrayBuffer, which browsers give only to
 * isolated pages. Every response of the dev and preview servers carries these; a host that cannot
 * set headers gets them from the service worker (src/sw.js) from the second load on.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** tfjs-backend-wasm's dist folder, found through its package entry (its exports hide package.json). */
function tfjsWasmDist(): string {
  const require = createRequire(join(HERE, 'package.json'));
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
}

/**
 * Serves (dev) and emits (build) tfjs-backend-wasm's .wasm binaries under `wasm/`: the backend
 * fetches them at run time from the folder given to `setWasmPaths`, so they are assets, not
 * modules.
 */
function tfjsWasmBinaries(): Plugin {
  const dist = tfjsWasmDist();
  const binaries = readdirSync(dist).filter((f) => f.endsWith('.wasm'));
  return {
    name: 'dino-playground:tfjs-wasm-binaries',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.split('?')[0].match(/\/wasm\/([\w.-]+\.wasm)$/)?.[1];
        if (!name || !binaries.includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        res.end(readFileSync(join(dist, name)));
      });
    },
    generateBundle() {
      for (const name of binaries) this.emitFile({ type: 'asset', fileName: `wasm/${name}`, source: readFileSync(join(dist, name)) });
    },
  };
}

/** Every file under `dir`, relative to it, with forward slashes. */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out;
}

/**
 * The service worker: src/sw.js with the list of the build's files and a version derived from
 * their names and the public files' contents (a new build replaces the old cache).
 */
function serviceWorker(): Plugin {
  let publicDir = '';
  return {
    name: 'dino-playground:service-worker',
    apply: 'build',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    generateBundle(_options, bundle) {
      const publicFiles = listFiles(publicDir);
      const files = [...Object.keys(bundle), ...publicFiles].filter((f) => f !== 'sw.js' && !f.endsWith('.map')).sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f);
      for (const f of publicFiles) hash.update(readFileSync(join(publicDir, f)));
      const source = readFileSync(join(HERE, 'src/sw.js'), 'utf8')
        .replace('self.__PRECACHE__', JSON.stringify(['./', ...files]))
        .replace('self.__VERSION__', JSON.stringify(hash.digest('hex').slice(0, 12)));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [tfjsWasmBinaries(), serviceWorker()],
  // Module workers: tfjs and the dino-ts packages are ES modules, and a module worker shares
  // chunks with the page instead of inlining them.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // tfjs-core and the backend are large; the page loads them once and caches them.
    chunkSizeWarningLimit: 2048,
    sourcemap: false,
  },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
