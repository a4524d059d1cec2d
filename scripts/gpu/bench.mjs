// One measurement on one backend, in its own process: prints one JSON line.
//   node scripts/gpu/bench.mjs <dino-step|vit-s16-infer|parity> <webgpu|wasm|cpu|tensorflow> [--quick]
// dino-step and vit-s16-infer are the configurations of `pnpm bench` (apps/trainer/bench/measure.mjs);
// parity runs one full DINO training step on the backend and on cpu from the same weights and
// crops, and reports the largest difference over every student and teacher parameter.
// DINO_WEBGPU_SOFTWARE=1 lets `webgpu` run on a software adapter (the only kind on a machine
// without a GPU), which `--backend auto` never picks.
import { createRequire } from 'node:module';

const root = new URL('../../', import.meta.url);
const fromTrainer = createRequire(new URL('apps/trainer/package.json', root));
const tf = fromTrainer('@tensorflow/tfjs-core');
const load = (path) => import(new URL(path, root).href);
const { Rng, loadParams } = await load('packages/core/dist/index.js');
// The workloads of `pnpm bench`, the same definitions.
const { benchTrainer, timeDinoStep, timeVitS16 } = await load('apps/trainer/bench/workloads.mjs');
const gpu = await load('apps/trainer/dist/index.js');
const { selectBackend } = gpu;

const [name, backend] = process.argv.slice(2);
const quick = process.argv.includes('--quick');
if (!['dino-step', 'vit-s16-infer', 'parity'].includes(name) || !backend) {
  console.error('usage: node scripts/gpu/bench.mjs <dino-step|vit-s16-infer|parity> <webgpu|wasm|cpu|tensorflow> [--quick]');
  process.exit(2);
}

async function use(choice) {
  if (choice === 'webgpu') {
    // An explicit --backend webgpu takes a software adapter; a benchmark should not, unless asked.
    const probe = gpu.probeWebgpu();
    if (!probe.hardware && process.env.DINO_WEBGPU_SOFTWARE !== '1') {
      throw new Error(`no hardware WebGPU adapter (${probe.detail}); DINO_WEBGPU_SOFTWARE=1 allows a software one`);
    }
  }
  const info = await selectBackend(choice);
  return { backend: info.name, device: choice === 'webgpu' ? gpu.activeWebgpuAdapter()?.name : info.provider };
}

const t0 = performance.now();
if (name === 'parity') {
  // cpu first: its weights are the start of both runs.
  await use('cpu');
  const batch = 8;
  const crops = () => { const r = new Rng(1); const mk = (px) => tf.tensor4d(Float32Array.from({ length: batch * px * px }, () => r.normal()), [batch, px, px, 1]); return [mk(28), mk(28), ...Array.from({ length: 6 }, () => mk(12))]; };
  const snapshot = async (t) => {
    const out = {};
    for (const [prefix, params] of [['student.', t.student.params()], ['teacher.', t.teacher.params()]]) {
      for (const [k, v] of params) out[prefix + k] = { data: Float32Array.from(await v.data()), shape: v.shape };
    }
    return out;
  };
  const run = async (init) => {
    const t = benchTrainer({ batch, small: true });
    if (init) {
      const pick = (prefix) => Object.fromEntries(Object.entries(init).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), { dtype: 'F32', ...v }]));
      loadParams(t.student.params(), pick('student.'), { source: 'cpu run' });
      loadParams(t.teacher.params(), pick('teacher.'), { source: 'cpu run' });
    }
    const start = await snapshot(t);
    const x = crops();
    const m = await t.step(x, 200);
    tf.dispose(x);
    const end = await snapshot(t);
    t.dispose();
    return { start, end, loss: m.loss };
  };
  const ref = await run(null);
  const used = await use(backend);
  const got = await run(ref.start);
  let maxAbs = 0, maxErr = 0, worst = '', moved = 0;
  for (const k of Object.keys(ref.end)) {
    const a = got.end[k].data, e = ref.end[k].data, s = ref.start[k].data;
    for (let i = 0; i < e.length; i++) {
      const d = Math.abs(a[i] - e[i]);
      moved = Math.max(moved, Math.abs(e[i] - s[i]));
      if (d > maxAbs) maxAbs = d;
      if (d / Math.max(1, Math.abs(e[i])) > maxErr) [maxErr, worst] = [d / Math.max(1, Math.abs(e[i])), k];
    }
  }
  const ok = maxErr <= 1e-4 && moved > 0 && Math.abs(got.loss - ref.loss) <= 1e-4 * Math.max(1, Math.abs(ref.loss));
  console.log(JSON.stringify({ name, ...used, vs: 'cpu', params: Object.keys(ref.end).length, max_abs_error: maxAbs, max_error: maxErr, worst, loss: got.loss, loss_cpu: ref.loss, largest_update: moved, ok, seconds: +((performance.now() - t0) / 1000).toFixed(1) }));
  process.exit(ok ? 0 : 1);
}

const used = await use(backend);
const batch = name === 'dino-step' ? (quick ? 8 : 64) : quick ? 2 : 8;
// The first call of each compiles the shaders (on webgpu) and is not timed.
const s = name === 'dino-step'
  ? await timeDinoStep({ batch, steps: quick ? 1 : 4 })
  : await timeVitS16({ batch, steps: quick ? 1 : 3 });
console.log(JSON.stringify({ name, impl: 'dino-ts', ...used, batch, quick, sec_per_iter: +s.toFixed(4), img_per_s: +(batch / s).toFixed(2), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }));
process.exit(0);
