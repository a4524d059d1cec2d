/**
 * A line chart on a canvas, small enough to redraw on every training step: a few series over a
 * shared x axis, y from the data's range, drawn at the device's pixel ratio.
 */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  /** Dots instead of a line (few, sparse points: the k-NN monitor). */
  dots?: boolean;
}

export interface ChartOptions {
  yLabel: string;
  xLabel: string;
  /** Fixed y range; default the data's. */
  yRange?: [number, number];
}

export function drawChart(canvas: HTMLCanvasElement, series: Series[], opts: ChartOptions): void {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 320, cssH = canvas.clientHeight || 180;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const style = getComputedStyle(canvas);
  const fg = style.color || '#222';
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.font = '11px system-ui, sans-serif';
  const pad = { l: 44, r: 10, t: 18, b: 28 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x), ys = all.map((p) => p.y).filter(Number.isFinite);
  const xMin = Math.min(0, ...xs), xMax = Math.max(1, ...xs);
  let [yMin, yMax] = opts.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
  if (yMax - yMin < 1e-6) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  const m = (yMax - yMin) * 0.08;
  if (!opts.yRange) [yMin, yMax] = [yMin - m, yMax + m];
  const X = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (cssW - pad.l - pad.r);
  const Y = (y: number) => cssH - pad.b - ((y - yMin) / (yMax - yMin)) * (cssH - pad.t - pad.b);

  // Axes, ticks and labels.
  ctx.strokeStyle = fg;
  ctx.fillStyle = fg;
  ctx.globalAlpha = 0.35;
  ctx.beginPath();
  ctx.moveTo(pad.l, pad.t);
  ctx.lineTo(pad.l, cssH - pad.b);
  ctx.lineTo(cssW - pad.r, cssH - pad.b);
  ctx.stroke();
  ctx.globalAlpha = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4 && all.length > 0; i++) {
    const y = yMin + ((yMax - yMin) * i) / 4;
    ctx.fillText(y.toFixed(Math.abs(yMax - yMin) < 2 ? 2 : 1), pad.l - 4, Y(y));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(`${xMax}`, X(xMax), cssH - pad.b + 4);
  ctx.fillText(`${xMin}`, X(xMin), cssH - pad.b + 4);
  ctx.fillText(opts.xLabel, (pad.l + cssW - pad.r) / 2, cssH - pad.b + 14);
  ctx.textAlign = 'left';
  ctx.fillText(opts.yLabel, 4, 2);

  if (all.length === 0) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.globalAlpha = 0.6;
    ctx.fillText('no data yet', (pad.l + cssW - pad.r) / 2, (pad.t + cssH - pad.b) / 2);
    ctx.globalAlpha = 1;
  }

  // Series, and a legend on the top line.
  ctx.textAlign = 'left';
  let legendX = pad.l + 60;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 1.6;
    if (s.dots) {
      for (const p of s.points) {
        ctx.beginPath();
        ctx.arc(X(p.x), Y(p.y), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    } else {
      ctx.beginPath();
      s.points.forEach((p, i) => (i === 0 ? ctx.moveTo(X(p.x), Y(p.y)) : ctx.lineTo(X(p.x), Y(p.y))));
      ctx.stroke();
    }
    ctx.fillRect(legendX, 6, 10, 3);
    ctx.fillStyle = fg;
    ctx.textBaseline = 'middle';
    ctx.fillText(s.name, legendX + 14, 8);
    legendX += ctx.measureText(s.name).width + 30;
  }
}
