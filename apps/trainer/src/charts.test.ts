import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { lineChartSvg, svgToPng } from './charts';

describe('charts', () => {
  it('draws every series and renders to a PNG of the requested size', async () => {
    const svg = lineChartSvg(
      [
        { name: 'loss', x: [0, 1, 2, 3], y: [8.3, 7.1, 6.0, 5.5] },
        { name: 'k-NN', x: [0, 3], y: [0.2, 0.6] },
      ],
      { title: 'Training <loss>', hlines: [{ y: Math.log(4096), label: 'ln K' }], width: 400, height: 200 },
    );
    expect(svg).toContain('Training &lt;loss&gt;');
    expect(svg.match(/<path /g)?.length).toBe(2);
    const png = await svgToPng(svg);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([400, 200]);
  });
  it('survives empty and constant series', () => {
    expect(() => lineChartSvg([{ name: 'a', x: [], y: [] }], { title: 't' })).not.toThrow();
    expect(lineChartSvg([{ name: 'a', x: [1, 2], y: [3, 3] }], { title: 't' })).toContain('<path');
  });
});
