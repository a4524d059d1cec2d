/**
 * Random parameters follow torchvision's distributions: RandomResizedCrop.get_params statistics
 * compared with torchvision's own draws (fixture), the other draws with the laws their
 * configuration defines. Fixed seeds, so every run draws the same numbers.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '@dino-ts/core';
import { loadFixture, fixtureNumbers } from './test-fixtures';
import { centerCropFallback, roundHalfEven, sampleColorJitter, sampleResizedCropBox, JITTER_OPS } from './sampling';
import { sampleCropParams } from './crop-params';
import { MultiCropAugmentation } from './multi-crop-augmentation';
import { DINO_AUGMENT_DEFAULTS } from './dino-augment-config';

const fx = loadFixture('sampling.safetensors');
const TV_DRAWS = Number(fx.metadata.draws);
const N = 20000;
/** Allowed distance of a sample mean from its expectation, in standard errors. */
const Z = 4.5;

function moments(xs: number[]): { mean: number; std: number; min: number; max: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, std, min: Math.min(...xs), max: Math.max(...xs) };
}

/** Checks a rate against its probability within Z binomial standard errors. */
function expectRate(hits: number, n: number, p: number, label: string): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  const rate = hits / n;
  expect(Math.abs(rate - p), `${label}: rate ${rate} vs p ${p}`).toBeLessThanOrEqual(Z * se + 1e-12);
}

/** Checks draws against a uniform law on [lo, hi]: range, mean and std. */
function expectUniform(xs: number[], lo: number, hi: number, label: string): void {
  const m = moments(xs);
  const width = hi - lo;
  expect(m.min, `${label} min`).toBeGreaterThanOrEqual(lo);
  expect(m.max, `${label} max`).toBeLessThanOrEqual(hi);
  // With 20000 draws the extremes come within 0.1% of the range of its ends.
  expect(m.min - lo, `${label} min near lo`).toBeLessThan(width * 1e-3);
  expect(hi - m.max, `${label} max near hi`).toBeLessThan(width * 1e-3);
  const sd = width / Math.sqrt(12);
  expect(Math.abs(m.mean - (lo + hi) / 2), `${label} mean ${m.mean}`).toBeLessThan((Z * sd) / Math.sqrt(xs.length));
  expect(Math.abs(m.std / sd - 1), `${label} std ${m.std} vs ${sd}`).toBeLessThan(0.03);
}

describe('roundHalfEven', () => {
  it("matches Python's round() (halves to even)", () => {
    const input = fixtureNumbers(fx, 'round_in');
    const expected = fixtureNumbers(fx, 'round_out');
    expect(input.map(roundHalfEven).map((v) => v + 0)).toEqual(expected);
  });
});

describe('sampleResizedCropBox', () => {
  const stats = fixtureNumbers(fx, 'stats');
  const cols = 14;
  for (let row = 0; row < stats.length / cols; row++) {
    const s = stats.slice(row * cols, (row + 1) * cols);
    const [h, w, lo, hi] = s;
    it(`${h}x${w}, scale [${lo.toFixed(2)}, ${hi.toFixed(2)}]: area and aspect statistics match torchvision`, () => {
      const rng = new Rng(100 + row);
      const area: number[] = [];
      const logRatio: number[] = [];
      const cy: number[] = [];
      const cx: number[] = [];
      let outside = 0;
      for (let i = 0; i < N; i++) {
        const b = sampleResizedCropBox(rng, h, w, [lo, hi]);
        if (!(b.top >= 0 && b.left >= 0 && b.top + b.height <= h && b.left + b.width <= w)) outside++;
        area.push((b.height * b.width) / (h * w));
        logRatio.push(Math.log(b.width / b.height));
        cy.push((b.top + b.height / 2) / h);
        cx.push((b.left + b.width / 2) / w);
      }
      expect(outside, 'boxes outside the image').toBe(0);
      const [aMean, aStd, aMin, aMax, rMean, rStd, rMin, rMax, cyMean, cxMean] = s.slice(4);
      const a = moments(area);
      const r = moments(logRatio);
      const se = (sd: number, sd2: number) => Z * Math.sqrt((sd * sd) / N + (sd2 * sd2) / TV_DRAWS);
      expect(Math.abs(a.mean - aMean), `area mean ${a.mean} vs ${aMean}`).toBeLessThan(se(a.std, aStd));
      expect(Math.abs(r.mean - rMean), `log-ratio mean ${r.mean} vs ${rMean}`).toBeLessThan(se(r.std, rStd));
      expect(Math.abs(a.std / aStd - 1), `area std ${a.std} vs ${aStd}`).toBeLessThan(0.05);
      expect(Math.abs(r.std / rStd - 1), `log-ratio std ${r.std} vs ${rStd}`).toBeLessThan(0.05);
      // Ranges: the extremes of 20000 draws on both sides agree to a pixel's rounding.
      expect(Math.abs(a.min - aMin), `area min ${a.min} vs ${aMin}`).toBeLessThan(0.01);
      expect(Math.abs(a.max - aMax), `area max ${a.max} vs ${aMax}`).toBeLessThan(0.01);
      expect(Math.abs(r.min - rMin), `log-ratio min ${r.min} vs ${rMin}`).toBeLessThan(0.03);
      expect(Math.abs(r.max - rMax), `log-ratio max ${r.max} vs ${rMax}`).toBeLessThan(0.03);
      // Placement is uniform: the box centre averages to the image centre as in torchvision.
      expect(Math.abs(moments(cy).mean - cyMean)).toBeLessThan(0.01);
      expect(Math.abs(moments(cx).mean - cxMean)).toBeLessThan(0.01);
    });
  }

  it("falls back to torchvision's central crop when no try fits", () => {
    const f = fixtureNumbers(fx, 'fallback');
    const ratio = [3 / 4, 4 / 3] as [number, number];
    for (let row = 0; row < f.length / 8; row++) {
      const [h, w, lo, hi, top, left, height, width] = f.slice(row * 8, row * 8 + 8);
      expect(centerCropFallback(h, w, ratio)).toEqual({ top, left, height, width });
      if (hi <= 1) expect(sampleResizedCropBox(new Rng(row), h, w, [lo, hi], ratio)).toEqual({ top, left, height, width });
    }
  });

  it('is reproducible from the seed', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleResizedCropBox(rng, 64, 48, [0.05, 0.4]));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });
});

describe('sampleColorJitter', () => {
  it('draws factors uniform in [max(0, 1 - s), 1 + s], hue in [-h, h], and a uniform random order', () => {
    const strength = DINO_AUGMENT_DEFAULTS.jitter;
    const rng = new Rng(3);
    const draws = Array.from({ length: N }, () => sampleColorJitter(rng, strength));
    for (const op of ['brightness', 'contrast', 'saturation'] as const) {
      expectUniform(draws.map((d) => d[op]), Math.max(0, 1 - strength[op]), 1 + strength[op], op);
    }
    expectUniform(draws.map((d) => d.hue), -strength.hue, strength.hue, 'hue');
    for (let pos = 0; pos < 4; pos++) {
      for (let op = 0; op < 4; op++) {
        const hits = draws.filter((d) => d.order[pos] === op).length;
        expectRate(hits, N, 1 / 4, `${JITTER_OPS[op]} at position ${pos}`);
      }
    }
    expect(draws.every((d) => [...d.order].sort().join() === '0,1,2,3')).toBe(true);
  });

  it('a strength above 1 keeps factors non-negative (max(0, 1 - s))', () => {
    const rng = new Rng(4);
    const b = Array.from({ length: 2000 }, () => sampleColorJitter(rng, { brightness: 1.5, contrast: 0, saturation: 0, hue: 0 }));
    expect(Math.min(...b.map((d) => d.brightness))).toBeGreaterThanOrEqual(0);
    expect(b.every((d) => d.contrast === 1 && d.saturation === 1 && d.hue === 0)).toBe(true);
  });
});

describe('sampleCropParams', () => {
  const aug = new MultiCropAugmentation();
  const c = aug.config;
  const draw = (crop: number, seed: number) => sampleCropParams(new Rng(seed), N, 224, 224, aug.crops[crop]);
  const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);

  it('flip, jitter, grayscale, blur and solarize rates follow the configuration per crop kind', () => {
    const kinds = [
      { crop: 0, blurP: c.blur.global1P, solarizeP: 0 },
      { crop: 1, blurP: c.blur.global2P, solarizeP: c.solarizeP },
      { crop: 2, blurP: c.blur.localP, solarizeP: 0 },
    ];
    for (const { crop, blurP, solarizeP } of kinds) {
      const p = draw(crop, 10 + crop);
      expectRate(count(p.flip), N, c.flipP, `flip, crop ${crop}`);
      expectRate(p.jitter.filter((j) => j !== null).length, N, c.jitter.p, `jitter, crop ${crop}`);
      expectRate(count(p.grayscale), N, c.grayscaleP, `grayscale, crop ${crop}`);
      expectRate(p.blurSigma.filter((s) => s > 0).length, N, blurP, `blur, crop ${crop}`);
      expectRate(count(p.solarize), N, solarizeP, `solarize, crop ${crop}`);
    }
  });

  it('blur sigma is uniform in the configured range', () => {
    const p = draw(0, 20);
    expectUniform(Array.from(p.blurSigma), c.blur.sigma[0], c.blur.sigma[1], 'sigma');
  });

  it('crop boxes use the global and local scale ranges', () => {
    const areaMean = (crop: number) => {
      const p = draw(crop, 30 + crop);
      return moments(p.boxes.map((b) => (b.height * b.width) / (224 * 224)));
    };
    const g = areaMean(0);
    const l = areaMean(2);
    expect(g.min).toBeGreaterThanOrEqual(c.globalCropsScale[0] - 0.01);
    expect(l.max).toBeLessThanOrEqual(c.localCropsScale[1] + 0.01);
    // Local crops never clip, so their area fraction is uniform in the scale range.
    expect(Math.abs(l.mean - (c.localCropsScale[0] + c.localCropsScale[1]) / 2)).toBeLessThan(0.005);
  });

  it('MultiCropAugmentation.sample is reproducible from the seed', () => {
    expect(aug.sample(new Rng(5), 4, 40, 50)).toEqual(aug.sample(new Rng(5), 4, 40, 50));
    expect(aug.sample(new Rng(5), 4, 40, 50)).not.toEqual(aug.sample(new Rng(6), 4, 40, 50));
  });
});
