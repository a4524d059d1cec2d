// Properties of the bicubic matrices (the values themselves are checked against PyTorch through
// the pos_embed outputs of vit.fixture.test.ts).
import { describe, it, expect } from 'vitest';
import { bicubicMatrix, posEmbedMatrices } from './pos-embed';

describe('bicubic interpolation matrices', () => {
  it('rows sum to one (a constant embedding stays constant)', () => {
    for (const [from, to] of [[4, 3], [4, 5], [14, 6], [2, 7]] as const) {
      const m = bicubicMatrix(from, to, (to + 0.1) / from);
      for (let i = 0; i < to; i++) {
        let s = 0;
        for (let j = 0; j < from; j++) s += m[i * from + j]!;
        expect(s).toBeCloseTo(1, 5);
      }
    }
  });

  it('scale 1 on the same size is the identity (integer source coordinates)', () => {
    const m = bicubicMatrix(5, 5, 1);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(m[i * 5 + j]).toBe(i === j ? 1 : 0);
  });

  it('uses the given scale factor, not the size ratio', () => {
    // 4 -> 3 with scale 3.1/4 maps output 0 to source (0.5 * 4/3.1) - 0.5, not (0.5 * 4/3) - 0.5.
    const a = bicubicMatrix(4, 3, 3.1 / 4);
    const b = bicubicMatrix(4, 3, 3 / 4);
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('caches per grid pair and keeps rows and columns apart for non-square grids', () => {
    const m1 = posEmbedMatrices([4, 4], [2, 3]);
    expect(posEmbedMatrices([4, 4], [2, 3])).toBe(m1);
    expect(m1.rows.length).toBe(2 * 4);
    expect(m1.cols.length).toBe(3 * 4);
  });
});
