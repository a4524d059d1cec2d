import { describe, expect, it } from 'vitest';
import { ShapeError } from '@dino-ts/core';
import { fx } from '@dino-ts/core/testing';
import { davisF, davisJ, davisSummary, dbStatistics, dilateDisk, evaluateDavisSequence, seg2bmap } from './davis';
import { evalFixture, ints, metaNumbers } from './testing';

const { tensors, metadata } = evalFixture('davis.safetensors');

describe('DAVIS measures vs the davis2017-evaluation formulas', () => {
  it('J and F of single masks (random blobs, empty masks, border-touching masks, several tolerances)', () => {
    const [n, h, w] = tensors.gt.shape;
    const gt = ints(tensors, 'gt'), pred = ints(tensors, 'pred');
    const J = fx(tensors, 'J'), F = fx(tensors, 'F');
    const th = metaNumbers(metadata, 'bound_th');
    for (let i = 0; i < n; i++) {
      const g = { data: gt.subarray(i * h * w, (i + 1) * h * w), height: h, width: w };
      const p = { data: pred.subarray(i * h * w, (i + 1) * h * w), height: h, width: w };
      expect(Math.abs(davisJ(g, p) - J[i]), `J pair ${i}`).toBeLessThan(1e-6);
      expect(Math.abs(davisF(g, p, th[i]) - F[i]), `F pair ${i}`).toBeLessThan(1e-6);
    }
  });

  it('per-object mean / recall / decay of a sequence (first and last frames not scored)', () => {
    const [T, h, w] = tensors.seq_gt.shape;
    const frames = (key: string) => Array.from({ length: T }, (_, t) => ({ data: ints(tensors, key).subarray(t * h * w, (t + 1) * h * w), height: h, width: w }));
    const seq = evaluateDavisSequence(frames('seq_gt'), frames('seq_pred'), { name: 'blobs' });
    const stats = fx(tensors, 'seq_stats');
    expect(seq.objects.map((o) => o.id)).toEqual([1, 2]);
    seq.objects.forEach((o, k) => {
      const got = [o.JStats.mean, o.JStats.recall, o.JStats.decay, o.FStats.mean, o.FStats.recall, o.FStats.decay];
      got.forEach((v, j) => expect(Math.abs(v - stats[k * 6 + j]), `object ${o.id} stat ${j}`).toBeLessThan(1e-6));
      expect(o.J).toHaveLength(T - 2);
    });
    const s = davisSummary([seq]);
    expect(s['J-Mean']).toBeCloseTo((stats[0] + stats[6]) / 2, 6);
    expect(s['J&F-Mean']).toBeCloseTo((stats[0] + stats[6] + stats[3] + stats[9]) / 4, 6);
    expect(Object.keys(s.perObject)).toEqual(['blobs_1', 'blobs_2']);
  });

  it('boundary map, disk dilation and statistics on hand-checked cases', () => {
    // A 2x2 square inside a 4x4 image: a pixel is on the boundary when it differs from its E, S or
    // SE neighbour, so the boundary sits half a pixel towards the origin (and (1, 1) is inside).
    const sq = { data: [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0], height: 4, width: 4 };
    expect(Array.from(seg2bmap(sq))).toEqual([1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
    const dot = new Uint8Array(25);
    dot[12] = 1;
    expect(dilateDisk(dot, 5, 5, 1).reduce((a, b) => a + b, 0)).toBe(5);
    expect(dilateDisk(dot, 5, 5, 2).reduce((a, b) => a + b, 0)).toBe(13);
    const st = dbStatistics([1, 1, 0.4, 0.2, 0]);
    expect(st.recall).toBeCloseTo(0.4, 12);
    expect(st.mean).toBeCloseTo(0.52, 12);
    expect(() => davisJ(sq, { data: [1], height: 1, width: 1 })).toThrow(ShapeError);
  });
});
