/**
 * The page: controls, pictures and charts. It computes nothing itself: the inference worker
 * (engine.worker.ts) and the training worker (train.worker.ts) do, so the page stays responsive
 * whatever runs. Every request goes through the task log (progress past half a second, times).
 */
import './style.css';
import type { RgbaImage } from '@dino-ts/eval';
import { drawChart } from './chart';
import type {
  Analysis,
  BackendReport,
  Checkpoint,
  EngineApi,
  EngineKind,
  ImageInfo,
  KnnAccuracy,
  ModelInfo,
  ModelSource,
  MonitorEvent,
  NeighboursResult,
  NetworkKind,
  StepEvent,
  TrainApi,
  TrainArgs,
  TrainEvents,
  TrainSummary,
} from './protocol';
import { WorkerClient } from './rpc';
import { DEFAULT_SHAPES } from './shapes';
import { TaskLog } from './tasks';
import { byId, canvasOf, download, figure, h, percent, seconds, stacked } from './ui';

/** What the page shows, for people and for the end-to-end test (read-only to both). */
interface PlaygroundState {
  ready: boolean;
  busy: number;
  engine: EngineKind;
  backend?: BackendReport;
  trainBackend?: BackendReport;
  model?: ModelInfo;
  image?: ImageInfo;
  analyses: Partial<Record<NetworkKind, Analysis>>;
  neighbours: Partial<Record<NetworkKind, NeighboursResult>>;
  knn?: KnnAccuracy;
  training: { running: boolean; steps: StepEvent[]; monitor: MonitorEvent[]; summary?: TrainSummary; lastCheckpointStep?: number };
  timings: { label: string; ms: number; at: number }[];
  errors: string[];
  /** Completed refreshes of the views (a test waits for the next one). */
  refreshes: number;
}

declare global {
  interface Window {
    __playground: PlaygroundState;
    /** Tensors alive in each worker (a leak shows as a count that grows with use). */
    __playgroundTensors: () => Promise<{ engine: number }>;
  }
}

const DEMO_MODEL = { url: new URL('models/demo-teacher.safetensors', document.baseURI).href, name: 'demo teacher (dino train --preset shapes)' };
const WEIGHTS_RE = /\.(safetensors|pth|pt)$/i;
const PICTURE_RE = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;

const engine: EngineKind = new URLSearchParams(location.search).get('engine') === 'stock' ? 'stock' : 'dino';
const tasks = new TaskLog(byId('tasks-running'), byId('tasks-done'), () => {
  state.busy = tasks.busy;
});
const state: PlaygroundState = {
  ready: false,
  busy: 0,
  engine,
  analyses: {},
  neighbours: {},
  training: { running: false, steps: [], monitor: [] },
  timings: tasks.timings,
  errors: [],
  refreshes: 0,
};
window.__playground = state;

// The workers. Vite bundles each from this exact `new Worker(new URL(...))` form.
const engineWorker = new WorkerClient<EngineApi>(new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'dino-engine' }));
const trainWorker = new WorkerClient<TrainApi, TrainEvents>(new Worker(new URL('./train.worker.ts', import.meta.url), { type: 'module', name: 'dino-train' }));
window.__playgroundTensors = async () => ({ engine: (await engineWorker.call('stats', {})).numTensors });

// ---- messages ------------------------------------------------------------------------------------

function showError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  state.errors.push(message);
  const close = h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss' }, '×');
  const item = h('p', {}, message, ' ', close);
  close.addEventListener('click', () => item.remove());
  byId('errors').append(item);
}

function showBackend(report: BackendReport, trainReport?: BackendReport): void {
  const c = report.capabilities;
  const parts = [
    report.backend,
    report.kernels > 0 ? `dino-ts kernels: ${report.kernels}` : 'stock kernels',
    `${report.binary} build`,
    report.kernels > 0 ? (report.relaxedSimdGemm ? 'relaxed SIMD (FMA) GEMM' : 'SIMD128 GEMM') : null,
    `${report.threads} thread${report.threads > 1 ? 's' : ''} a worker, 2 workers`,
    c.crossOriginIsolated ? 'cross-origin isolated' : 'not isolated',
  ].filter(Boolean);
  byId('engine-status').textContent = parts.join(' · ');
  const notes = [...new Set([...report.notes, ...(trainReport?.notes ?? [])])];
  byId('notes').replaceChildren(...notes.map((n) => h('p', {}, n)));
}

// ---- model -----------------------------------------------------------------------------------

function showModel(m: ModelInfo): void {
  const row = (k: string, v: string) => [h('dt', {}, k), h('dd', {}, v)];
  byId('model-info').replaceChildren(
    ...row('file', `${m.name} (${(m.bytes / 1024).toFixed(0)} KB)`),
    ...row('format', `${m.format} · ${m.naming} names · stored ${m.storedDtype}`),
    ...row('architecture', `ViT ${m.embedDim} wide × ${m.depth} blocks, ${m.numHeads} heads (${m.numHeadsFrom === 'default' ? 'width / 64' : `from the ${m.numHeadsFrom}`}), patch ${m.patchSize}, ${m.imgSize} px, MLP ×${m.mlpRatio}`),
    ...row('parameters', `${(m.params / 1e6).toFixed(2)} M`),
    ...row('inputs', `normalised with mean ${m.mean.map((v) => v.toFixed(3)).join(', ')}, std ${m.std.map((v) => v.toFixed(3)).join(', ')} (${m.normalizationFrom === 'file' ? 'from the file' : 'ImageNet'})`),
    ...row('loaded in', `${seconds(m.ms.total)} (read ${seconds(m.ms.read)}, build ${seconds(m.ms.build)})`),
    ...m.notes.flatMap((n) => row('note', n)),
  );
}

let galleryReady = false;
/** The gallery is the user's own pictures (kept across models), not the shapes. */
let userGallery = false;

async function loadModel(source: ModelSource): Promise<void> {
  const { model, image } = await tasks.run(`Loading ${source.name}`, (progress) =>
    engineWorker.call('loadModel', source, { onProgress: progress, transfer: source.kind === 'bytes' ? [source.bytes] : [] }),
  );
  state.model = model;
  showModel(model);
  // The worker prepared the current picture again for this model (its size, its normalisation).
  if (image) {
    state.image = image;
    showImage(image);
  } else await setImage({ kind: 'shapes', index: sampleIndex() }, false);
  // The gallery's features belong to a model: the worker recomputes them when asked. A large
  // model (a published ViT-S/16 at 224 px runs a few images a second here) gets a small gallery.
  const select = byId<HTMLSelectElement>('gallery-size');
  if (!userGallery && model.imgSize > 64 && Number(select.value) > 64) {
    select.value = '64';
    galleryReady = false;
  }
  if (!galleryReady) {
    await gallery();
    galleryReady = true;
  }
  await refresh();
}

async function loadWeightsFile(file: File): Promise<void> {
  const bytes = await file.arrayBuffer();
  await loadModel({ kind: 'bytes', bytes, name: file.name });
}

// ---- picture ---------------------------------------------------------------------------------

function sampleIndex(): number {
  return Math.max(0, Math.floor(Number(byId<HTMLInputElement>('sample-index').value) || 0));
}

function showImage(info: ImageInfo): void {
  const view = byId('input-view');
  const layers: HTMLCanvasElement[] = [canvasOf(info.input, '', 'pic base')];
  if (info.mask) layers.push(canvasOf(info.mask, '', 'pic layer truth'));
  view.setAttribute('aria-label', `The model's input: ${info.name}${info.mask ? ', the object outlined in green' : ''}`);
  view.replaceChildren(...layers);
  const size = `${info.input.width}×${info.input.height} input from ${info.originalSize[1]}×${info.originalSize[0]}`;
  byId('image-caption').textContent = `${info.name} · ${size}${info.mask ? ' · green: the object' : ''}`;
}

/** Sets the picture, then refreshes both properties unless told not to. */
async function setImage(source: Parameters<EngineApi['setImage']>[0], andRefresh = true): Promise<void> {
  const label = source.kind === 'shapes' ? `Shapes sample #${source.index}` : `Reading ${source.name}`;
  const info = await tasks.run(label, () => engineWorker.call('setImage', source));
  state.image = info;
  showImage(info);
  if (andRefresh) await refresh();
}

// ---- property 1 ------------------------------------------------------------------------------

function networks(): NetworkKind[] {
  const v = document.querySelector<HTMLInputElement>('input[name=network]:checked')?.value ?? 'trained';
  return v === 'both' ? ['trained', 'random'] : [v as NetworkKind];
}

function networkTitle(kind: NetworkKind): string {
  return kind === 'trained' ? `The model: ${state.model?.name ?? ''}` : 'Random init, same architecture (seed 0)';
}

function tagged(el: HTMLElement, kind: string): HTMLElement {
  el.dataset.kind = kind;
  return el;
}

function showAnalysis(a: Analysis, input: RgbaImage): HTMLElement {
  const j = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : ` · J ${x.toFixed(2)}`);
  const maskFig = (layer: RgbaImage, name: string, fraction: number, jac: number | undefined, kind: string) => {
    const el = stacked(input, layer, `${name}: the patches holding the attention mass`, 'mask');
    el.querySelector<HTMLCanvasElement>('canvas.layer')!.dataset.kind = kind;
    return figure(el, `${name} mask: ${percent(100 * fraction, 0)} of patches${j(jac)}`);
  };
  const cards: HTMLElement[] = [
    h('div', { class: 'card' },
      figure(tagged(canvasOf(a.pca, 'First three principal components of the patch features as RGB'), 'pca'), `PCA: ${a.pcaExplained.map((e) => percent(100 * e, 0)).join(' / ')} of the variance`),
      figure(tagged(canvasOf(input, 'The input'), 'input'), 'input'),
    ),
    h('div', { class: 'card' },
      figure(tagged(canvasOf(a.meanHeat, 'Attention averaged over heads'), 'mean-heat'), `mean of ${a.numHeads} heads`),
      maskFig(a.meanMask, 'mean', a.meanMaskFraction, a.jaccard?.mean, 'mean-mask'),
    ),
    ...a.headHeat.map((heat, k) =>
      h('div', { class: 'card' },
        figure(tagged(canvasOf(heat, `Attention of head ${k + 1}`), 'head-heat'), `head ${k + 1}`),
        maskFig(a.headMasks[k], `head ${k + 1}`, a.headMaskFractions[k], a.jaccard?.perHead[k], 'head-mask'),
      ),
    ),
  ];
  const best = a.jaccard ? Math.max(...a.jaccard.perHead) : undefined;
  const summary = a.jaccard
    ? `Jaccard with the object: best head ${best!.toFixed(2)}, head mean ${a.jaccard.mean.toFixed(2)}.`
    : 'No true mask for this picture (shapes samples have one).';
  return h('div', { class: 'analysis', 'data-network': a.network },
    h('h3', {}, networkTitle(a.network)),
    h('p', { class: 'meta' }, `${summary} Attention ${seconds(a.ms.attention)}, PCA ${seconds(a.ms.pca)}.`),
    h('div', { class: 'cards' }, ...cards),
  );
}

// ---- property 2 ------------------------------------------------------------------------------

function showNeighbours(results: NeighboursResult[]): void {
  byId('neighbours').replaceChildren(
    ...results.map((r) =>
      h('div', { class: 'neighbours', 'data-network': r.network },
        h('h3', {}, networkTitle(r.network)),
        h('p', { class: 'meta' }, `k-NN vote (k ${r.k}, T 0.07): `, h('strong', {}, r.vote), r.truth ? ` · truth: ${r.truth}` : '', ` · gallery features ${r.featuresCached ? 'cached' : seconds(r.ms.features)}, search ${seconds(r.ms.search)} · under each neighbour its cosine similarity (L2-normalised CLS features, as the reference's k-NN)`),
        h('ol', { class: 'thumbs' },
          ...r.neighbours.map((n) =>
            h('li', { 'data-kind': 'neighbour' },
              figure(canvasOf(n.thumbnail, `Neighbour: ${n.label}, cosine similarity ${n.similarity.toFixed(5)}`, 'pic thumb'), h('span', {}, h('b', {}, n.label), ` ${n.similarity.toFixed(5)}`)),
            ),
          ),
        ),
      ),
    ),
  );
}

async function gallery(files?: File[]): Promise<void> {
  if (files) {
    const items = files.map((file) => ({ file, name: file.name, label: labelOf(file) }));
    await tasks.run(`Gallery of ${files.length} pictures`, (progress) => engineWorker.call('setGallery', { kind: 'files', files: items }, { onProgress: progress }));
  } else {
    const count = Number(byId<HTMLSelectElement>('gallery-size').value);
    await tasks.run(`Gallery of ${count} shapes`, () => engineWorker.call('setGallery', { kind: 'shapes', count }));
  }
  userGallery = files !== undefined;
}

/** A picture's class in a user's gallery: its folder, or its name without extension and trailing digits. */
function labelOf(file: File): string {
  const parts = (file.webkitRelativePath || '').split('/');
  if (parts.length > 2) return parts[parts.length - 2];
  return file.name.replace(/\.[^.]+$/, '').replace(/[\s_\-.(]*\d+\)?$/, '') || file.name;
}

// ---- refresh: both properties for the current model, picture and networks -----------------

let generation = 0;

async function refresh(what: { p1?: boolean; p2?: boolean } = { p1: true, p2: true }): Promise<void> {
  if (!state.model || !state.image) return;
  const gen = ++generation;
  const nets = networks();
  const threshold = Number(byId<HTMLInputElement>('threshold').value) || 0.6;
  const k = Math.max(1, Math.floor(Number(byId<HTMLInputElement>('k').value) || 8));
  if (what.p1) {
    state.analyses = {};
    const shown: HTMLElement[] = [];
    for (const network of nets) {
      const a = await tasks.run(`Attention and PCA (${network})`, (progress) => engineWorker.call('analyze', { network, threshold }, { onProgress: progress }));
      if (gen !== generation) return; // a newer refresh took over
      state.analyses[network] = a;
      shown.push(showAnalysis(a, state.image.input));
      byId('p1-results').replaceChildren(...shown);
    }
  }
  if (what.p2) {
    state.neighbours = {};
    const results: NeighboursResult[] = [];
    for (const network of nets) {
      const r = await tasks.run(`Nearest neighbours (${network})`, (progress) => engineWorker.call('neighbours', { network, k }, { onProgress: progress }));
      if (gen !== generation) return;
      state.neighbours[network] = r;
      results.push(r);
      showNeighbours(results);
    }
  }
  state.refreshes++;
}

/** Runs an action from a control, reporting its failure on the page instead of the console. */
function act(fn: () => Promise<unknown>): () => void {
  return () => {
    fn().catch(showError);
  };
}

// ---- k-NN accuracy ---------------------------------------------------------------------------

async function measureKnn(): Promise<void> {
  const bank = Number(byId<HTMLSelectElement>('knn-bank').value);
  const heldOut = Number(byId<HTMLSelectElement>('knn-test').value);
  const r = await tasks.run(`k-NN accuracy (bank ${bank}, held out ${heldOut})`, (progress) => engineWorker.call('knnAccuracy', { bank, heldOut, k: 20 }, { onProgress: progress }));
  state.knn = r;
  const bar = (label: string, v: number, cls: string) =>
    h('div', { class: `bar ${cls}` }, h('span', { class: 'bar-label' }, label), h('span', { class: 'bar-fill', style: `width: ${Math.max(0, Math.min(100, v))}%` }), h('span', { class: 'bar-value' }, percent(v)));
  byId('knn-result').replaceChildren(
    h('p', {}, `Weighted 20-NN (T 0.07) on ${r.heldOut} held-out shapes with ${r.bank} training shapes as the memory bank (chance ${percent(r.chance)}), ${seconds(r.ms.total)}:`),
    bar('the model', r.trained, 'trained'),
    bar('random init', r.random, 'random'),
  );
}

// ---- training --------------------------------------------------------------------------------

const TRAIN_SIZES = {
  tiny: { embedDim: 32, depth: 2, numHeads: 2, outDim: 128, localCrops: 2 },
  preset: { embedDim: 64, depth: 4, numHeads: 4, outDim: 256, localCrops: 4 },
} as const;

let checkpoint: Checkpoint | null = null;

function drawTraining(): void {
  const t = state.training;
  drawChart(byId<HTMLCanvasElement>('loss-chart'), [
    { name: 'loss', color: '#d9480f', points: t.steps.map((s) => ({ x: s.step, y: s.loss })) },
    { name: 'teacher entropy', color: '#1971c2', points: t.steps.map((s) => ({ x: s.step, y: s.teacherEntropy })) },
  ], { xLabel: 'step', yLabel: 'nats' });
  drawChart(byId<HTMLCanvasElement>('knn-chart'), [
    { name: 'k-NN top-1', color: '#2b8a3e', points: t.monitor.map((m) => ({ x: m.step, y: m.top1 })), dots: true },
  ], { xLabel: 'step', yLabel: '%', yRange: [0, 100] });
}

trainWorker.on('step', (s) => {
  state.training.steps.push(s);
  const total = Number(byId<HTMLInputElement>('train-steps').value);
  byId('train-status').textContent = `Step ${s.step}/${total} · loss ${s.loss.toFixed(3)} · teacher entropy ${s.teacherEntropy.toFixed(3)} · ${seconds(s.ms)} a step`;
  drawTraining();
});
trainWorker.on('monitor', (m) => {
  state.training.monitor.push(m);
  drawTraining();
});

async function startTraining(): Promise<void> {
  if (state.training.running) return;
  const size = TRAIN_SIZES[byId<HTMLSelectElement>('train-size').value as keyof typeof TRAIN_SIZES] ?? TRAIN_SIZES.preset;
  const num = (id: string, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.floor(Number(byId<HTMLInputElement>(id).value) || lo)));
  const args: TrainArgs = {
    ...size,
    patchSize: 4,
    imgSize: 32,
    batchSize: num('train-batch', 4, 128),
    steps: num('train-steps', 1, 5000),
    monitorEvery: num('train-monitor', 0, 1000),
    monitorBank: 512,
    monitorTest: 256,
    // The shapes preset's base rate: 0.004 per 256 images (the trainer scales it by batch / 256).
    lr: 0.004,
    seed: 0,
    shapes: state.model?.shapes ?? DEFAULT_SHAPES,
  };
  state.training = { running: true, steps: [], monitor: [] };
  checkpoint = null;
  setTrainingControls(true);
  byId('train-status').textContent = 'Setting up…';
  drawTraining();
  try {
    const summary = await tasks.run(`Training ${args.steps} steps`, (progress) => trainWorker.call('train', args, { onProgress: progress }));
    state.training.summary = summary;
    byId('train-status').textContent = `${summary.stopped ? 'Stopped' : 'Done'} after ${summary.steps} steps in ${seconds(summary.ms)}.`;
  } finally {
    state.training.running = false;
    setTrainingControls(false);
  }
}

function setTrainingControls(running: boolean): void {
  byId<HTMLButtonElement>('train-start').disabled = running;
  byId<HTMLButtonElement>('train-stop').disabled = !running;
  const trained = !running && (state.training.summary?.steps ?? 0) > 0;
  for (const id of ['download-teacher', 'download-state', 'use-teacher']) byId<HTMLButtonElement>(id).disabled = !trained;
}

async function trainedCheckpoint(): Promise<Checkpoint> {
  if (checkpoint && checkpoint.step === state.training.summary?.steps) return checkpoint;
  const c = await tasks.run('Saving the checkpoint', () => trainWorker.call('checkpoint', {}));
  checkpoint = c;
  state.training.lastCheckpointStep = c.step;
  return c;
}

// ---- wiring ----------------------------------------------------------------------------------

function wire(): void {
  byId('load-demo').addEventListener('click', act(() => loadModel({ kind: 'url', ...DEMO_MODEL })));
  const weightsInput = byId<HTMLInputElement>('weights-input');
  weightsInput.addEventListener('change', act(async () => {
    const f = weightsInput.files?.[0];
    weightsInput.value = '';
    if (f) await loadWeightsFile(f);
  }));
  const nextSample = () => {
    const input = byId<HTMLInputElement>('sample-index');
    input.value = String(sampleIndex() + 1);
    return setImage({ kind: 'shapes', index: sampleIndex() });
  };
  byId('next-sample').addEventListener('click', act(nextSample));
  byId('sample-index').addEventListener('change', act(() => setImage({ kind: 'shapes', index: sampleIndex() })));
  const imageInput = byId<HTMLInputElement>('image-input');
  imageInput.addEventListener('change', act(async () => {
    const f = imageInput.files?.[0];
    imageInput.value = '';
    if (f) await setImage({ kind: 'file', file: f, name: f.name });
  }));
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=network]')) radio.addEventListener('change', act(() => refresh()));
  byId('threshold').addEventListener('change', act(() => refresh({ p1: true })));
  byId('k').addEventListener('change', act(() => refresh({ p2: true })));
  byId('gallery-size').addEventListener('change', act(async () => {
    await gallery();
    await refresh({ p2: true });
  }));
  const galleryInput = byId<HTMLInputElement>('gallery-input');
  galleryInput.addEventListener('change', act(async () => {
    const files = [...(galleryInput.files ?? [])];
    galleryInput.value = '';
    if (files.length) {
      await gallery(files);
      await refresh({ p2: true });
    }
  }));
  byId('knn-accuracy').addEventListener('click', act(measureKnn));
  byId('train-form').addEventListener('submit', (e) => e.preventDefault());
  byId('train-start').addEventListener('click', act(startTraining));
  byId('train-stop').addEventListener('click', act(() => trainWorker.call('stop', {})));
  byId('download-teacher').addEventListener('click', act(async () => {
    const c = await trainedCheckpoint();
    download(c.backbone.slice(0), `dino-playground-teacher-step${c.step}.safetensors`);
  }));
  byId('download-state').addEventListener('click', act(async () => {
    const c = await trainedCheckpoint();
    download(c.state.slice(0), `dino-playground-state-step${c.step}.safetensors`);
  }));
  byId('use-teacher').addEventListener('click', act(async () => {
    const c = await trainedCheckpoint();
    await loadModel({ kind: 'bytes', bytes: c.backbone.slice(0), name: `teacher trained in this page (${c.step} steps)` });
  }));
  const engineSelect = byId<HTMLSelectElement>('engine-select');
  engineSelect.value = engine;
  engineSelect.addEventListener('change', () => {
    const url = new URL(location.href);
    if (engineSelect.value === 'dino') url.searchParams.delete('engine');
    else url.searchParams.set('engine', engineSelect.value);
    location.assign(url.href);
  });

  // Files dropped anywhere: weights load as the model, one picture becomes the input, several the gallery.
  const overlay = byId('drop-overlay');
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    depth++;
    overlay.classList.add('visible');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) overlay.classList.remove('visible');
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    overlay.classList.remove('visible');
    act(() => takeFiles([...(e.dataTransfer?.files ?? [])]))();
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length) {
      e.preventDefault();
      act(() => takeFiles(files))();
    }
  });
  document.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement;
    if (e.key !== 'n' || e.ctrlKey || e.metaKey || e.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName)) return;
    act(nextSample)();
  });
  window.addEventListener('resize', drawTraining);
}

async function takeFiles(files: File[]): Promise<void> {
  const weights = files.filter((f) => WEIGHTS_RE.test(f.name));
  const pictures = files.filter((f) => f.type.startsWith('image/') || PICTURE_RE.test(f.name));
  if (weights.length) await loadWeightsFile(weights[0]);
  else if (pictures.length === 1) await setImage({ kind: 'file', file: pictures[0], name: pictures[0].name });
  else if (pictures.length > 1) {
    await gallery(pictures);
    await refresh({ p2: true });
  } else throw new Error(`Nothing to open in ${files.map((f) => f.name).join(', ') || 'the drop'}: drop a .safetensors / .pth file or pictures.`);
}

function showOffline(): void {
  const sw = 'serviceWorker' in navigator && navigator.serviceWorker.controller;
  byId('offline-status').textContent = `${navigator.onLine ? '' : 'Offline. '}${sw ? 'Works offline (cached).' : ''}`;
}

async function main(): Promise<void> {
  wire();
  drawTraining();
  if (import.meta.env.PROD && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js').catch((e) => showError(`offline support unavailable: ${e.message}`));
    navigator.serviceWorker.addEventListener('controllerchange', showOffline);
  }
  window.addEventListener('online', showOffline);
  window.addEventListener('offline', showOffline);
  showOffline();
  const wasmUrl = new URL('wasm/', document.baseURI).href;
  const [backend, trainBackend] = await tasks.run('Starting WebAssembly', () =>
    Promise.all([engineWorker.call('init', { engine, wasmUrl }), trainWorker.call('init', { engine, wasmUrl })]),
  );
  state.backend = backend;
  state.trainBackend = trainBackend;
  showBackend(backend, trainBackend);
  await loadModel({ kind: 'url', ...DEMO_MODEL });
  state.ready = true;
}

main().catch((e) => {
  showError(e);
  byId('engine-status').textContent = 'Failed to start.';
});
