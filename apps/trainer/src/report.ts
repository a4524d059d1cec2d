/**
 * The run report: one self-contained HTML file (opens from disk, no network: every picture is
 * embedded) with the curves, the k-NN history, the trained-versus-random comparison, the
 * attention gallery, nearest-neighbour examples, the config, the backend and the timing. The same
 * pictures are also written beside it as PNG files.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, svgToPng, type Series } from './charts';
import { writeFileAtomic } from './atomic';

export interface MetricRow {
  iteration: number;
  epoch: number;
  loss?: number;
  lr?: number;
  wd?: number;
  momentum?: number;
  teacherTemp?: number;
  teacherEntropy?: number;
  kl?: number;
  knnTop1?: number;
  imgPerSec?: number;
}

export interface ComparisonRow {
  measure: string;
  trained: number;
  random: number;
  /** Formatting: 'percent' for accuracies and IoU. */
  unit?: 'percent' | 'number';
  note?: string;
}

export interface ReportInput {
  title: string;
  metrics: MetricRow[];
  outDim: number;
  comparison: ComparisonRow[];
  /** Named PNG pictures (attention gallery, neighbours), shown in this order. */
  pictures: { name: string; file: string; caption: string; png: Buffer }[];
  config: Record<string, unknown>;
  backend: { name: string; reason: string };
  timing: { wallSeconds: number; trainSeconds: number; imagesSeen: number };
  notes?: string[];
  versions?: Record<string, string>;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function col(rows: MetricRow[], key: keyof MetricRow): Series {
  const r = rows.filter((m) => typeof m[key] === 'number' && Number.isFinite(m[key] as number));
  return { name: key, x: r.map((m) => m.iteration), y: r.map((m) => m[key] as number) };
}

/** The charts of a run, as [file name, title, svg]. */
export function runCharts(metrics: MetricRow[], outDim: number): [string, string][] {
  const loss = col(metrics, 'loss');
  const charts: [string, string][] = [];
  charts.push([
    'loss.png',
    lineChartSvg([{ ...loss, name: 'DINO loss' }], {
      title: 'Loss (cross-entropy teacher → student)',
      xLabel: 'iteration',
      hlines: [{ y: Math.log(outDim), label: `ln K = ${Math.log(outDim).toFixed(2)} (uniform: collapse)`, color: '#d62728' }],
    }),
  ]);
  charts.push([
    'knn.png',
    lineChartSvg([{ ...col(metrics, 'knnTop1'), name: 'k-NN top-1 (held-out)' }], { title: 'k-NN accuracy of the teacher', xLabel: 'iteration' }),
  ]);
  charts.push([
    'entropy.png',
    lineChartSvg(
      [
        { ...col(metrics, 'teacherEntropy'), name: 'teacher entropy' },
        { ...col(metrics, 'kl'), name: 'KL(teacher || student)' },
      ],
      { title: 'Collapse watch', xLabel: 'iteration', hlines: [{ y: Math.log(outDim), label: 'ln K' }] },
    ),
  ]);
  charts.push(['lr.png', lineChartSvg([{ ...col(metrics, 'lr'), name: 'learning rate' }], { title: 'Learning rate', xLabel: 'iteration' })]);
  charts.push([
    'schedules.png',
    lineChartSvg(
      [
        { ...col(metrics, 'momentum'), name: 'teacher momentum' },
        { ...col(metrics, 'wd'), name: 'weight decay' },
        { ...col(metrics, 'teacherTemp'), name: 'teacher temperature' },
      ],
      { title: 'Schedules', xLabel: 'iteration' },
    ),
  ]);
  return charts;
}

function fmtValue(v: number, unit?: string): string {
  if (!Number.isFinite(v)) return '–';
  return unit === 'percent' ? `${(100 * v).toFixed(1)}%` : v.toPrecision(4);
}

/** Writes report.html and the PNGs into `dir`; returns the report path. */
export async function writeReport(dir: string, input: ReportInput): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const charts = runCharts(input.metrics, input.outDim);
  const chartHtml: string[] = [];
  for (const [file, svg] of charts) {
    const png = await svgToPng(svg);
    writeFileAtomic(join(dir, file), png);
    chartHtml.push(`<figure>${svg}</figure>`);
  }
  const pics: string[] = [];
  for (const p of input.pictures) {
    writeFileAtomic(join(dir, p.file), p.png);
    pics.push(
      `<figure><img alt="${esc(p.name)}" src="data:image/png;base64,${p.png.toString('base64')}"><figcaption><b>${esc(p.name)}</b> — ${esc(p.caption)}</figcaption></figure>`,
    );
  }
  const cmp = input.comparison
    .map((r) => {
      const win = r.trained > r.random;
      return `<tr><td>${esc(r.measure)}</td><td class="${win ? 'win' : 'lose'}">${fmtValue(r.trained, r.unit)}</td><td>${fmtValue(r.random, r.unit)}</td><td>${esc(r.note ?? '')}</td></tr>`;
    })
    .join('\n');
  const last = input.metrics.filter((m) => m.loss !== undefined).at(-1);
  const t = input.timing;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
th{background:#f4f4f4}.win{color:#17692f;font-weight:bold}.lose{color:#a11}
.charts{display:flex;flex-wrap:wrap;gap:8px}figure{margin:8px 0}img{image-rendering:pixelated;max-width:100%}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}.note{color:#555}
</style></head><body>
<h1>${esc(input.title)}</h1>
<p>Backend: <b>${esc(input.backend.name)}</b> (${esc(input.backend.reason)}). Wall time ${(t.wallSeconds / 60).toFixed(1)} min,
training ${(t.trainSeconds / 60).toFixed(1)} min, ${t.imagesSeen} images seen
(${(t.imagesSeen / Math.max(t.trainSeconds, 1e-9)).toFixed(1)} img/s).
${last ? `Final loss ${last.loss!.toFixed(4)} at iteration ${last.iteration} (epoch ${last.epoch}).` : ''}</p>
<h2>Emerging properties: trained versus randomly initialised (same architecture)</h2>
<table><tr><th>measure</th><th>DINO (teacher)</th><th>random init</th><th>protocol</th></tr>
${cmp}
</table>
${(input.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
<h2>Curves</h2>
<div class="charts">${chartHtml.join('\n')}</div>
<h2>Pictures</h2>
${pics.join('\n')}
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(input.config, null, 2))}</pre>
${input.versions ? `<h2>Versions</h2><pre>${esc(JSON.stringify(input.versions, null, 2))}</pre>` : ''}
</body></html>
`;
  const path = join(dir, 'report.html');
  writeFileAtomic(path, html);
  return path;
}
