import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Rng } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { createBackbone } from '@dino-ts/backbones';
import { patchFeaturePca, pcaRgb, principalComponents } from './pca';

/** Rows of `dim` values with variances `sigmas²` along random orthonormal directions, plus a mean. */
function sample(rows: number, dim: number, sigmas: number[], seed: number): Float64Array[] {
  const rng = new Rng(seed);
  const dirs: Float64Array[] = [];
  while (dirs.length < sigmas.length) {
    const v = Float64Array.from({ length: dim }, () => rng.normal());
    for (const u of dirs) {
      const d = u.reduce((s, x, i) => s + x * v[i], 0);
      for (let i = 0; i < dim; i++) v[i] -= d * u[i];
    }
    const n = Math.hypot(...v);
    dirs.push(v.map((x) => x / n));
  }
  return Array.from({ length: rows }, () => {
    const row = Float64Array.from({ length: dim }, (_, i) => 3 + 0.5 * i);
    sigmas.forEach((s, j) => {
      const z = rng.normal() * s;
      for (let i = 0; i < dim; i++) row[i] += z * dirs[j][i];
    });
    return row;
  });
}

/** Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations, in float64. */
function jacobiEigen(a: number[][]): { values: number[]; vectors: number[][] } {
  const n = a.length;
  const m = a.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p][q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(m[p][q]) < 1e-300) continue;
        const theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k][p], mkq = m[k][q];
          m[k][p] = c * mkp - s * mkq;
          m[k][q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p][k], mqk = m[q][k];
          m[p][k] = c * mpk - s * mqk;
          m[q][k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[y][y] - m[x][x]);
  return { values: order.map((i) => m[i][i]), vectors: order.map((i) => v.map((r) => r[i])) };
}

/** The reference in float64: covariance eigen-decomposition, projections with the third-moment sign. */
function reference(rows: Float64Array[], k: number) {
  const n = rows.length, d = rows[0].length;
  const mean = Array.from({ length: d }, (_, i) => rows.reduce((s, r) => s + r[i], 0) / n);
  const xc = rows.map((r) => Array.from(r, (x, i) => x - mean[i]));
  const cov = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => xc.reduce((s, r) => s + r[i] * r[j], 0) / (n - 1)));
  const { values, vectors } = jacobiEigen(cov);
  let total = 0;
  for (let i = 0; i < d; i++) total += cov[i][i];
  const comps = vectors.slice(0, k).map((vec) => {
    const proj = xc.map((r) => r.reduce((s, x, i) => s + x * vec[i], 0));
    const sign = proj.reduce((s, p) => s + p ** 3, 0) < 0 ? -1 : 1;
    return { vec: vec.map((x) => x * sign), proj: proj.map((p) => p * sign) };
  });
  return { variances: values.slice(0, k), explained: values.slice(0, k).map((v) => v / total), comps };
}

describeBackends('principalComponents', () => {
  for (const [label, rows, dim, sigmas] of [
    ['more rows than dimensions (covariance path)', 300, 12, [5, 3, 2, 0.5, 0.2]],
    ['more dimensions than rows (Gram path)', 16, 40, [6, 4, 2.5, 1, 0.7]],
  ] as const) {
    it(`equals the float64 eigen-decomposition: ${label}`, async () => {
      const data = sample(rows, dim, [...sigmas], 7);
      const x = tf.tensor2d(data.map((r) => Array.from(r)));
      const before = tf.memory().numTensors;
      const pca = await principalComponents(x);
      expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
      x.dispose();
      const ref = reference(data, 3);
      expect(pca.k).toBe(3);
      for (let j = 0; j < 3; j++) {
        expect(pca.variances[j]).toBeCloseTo(ref.variances[j], 2);
        expect(Math.abs(pca.variances[j] - ref.variances[j]) / ref.variances[j]).toBeLessThan(1e-4);
        expect(pca.explained[j]).toBeCloseTo(ref.explained[j], 5);
        // Same direction, same sign.
        const dot = ref.comps[j].vec.reduce((s, v, i) => s + v * pca.components[j * dim + i], 0);
        expect(dot).toBeGreaterThan(1 - 1e-5);
        let worst = 0;
        for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(pca.projections[i * 3 + j] - ref.comps[j].proj[i]));
        expect(worst).toBeLessThan(2e-3 * Math.sqrt(ref.variances[j]));
      }
    });
  }

  it('handles rank-deficient input: constant rows give zero variance, not NaN', async () => {
    const x = tf.ones([8, 5]) as tf.Tensor2D;
    const pca = await principalComponents(x);
    x.dispose();
    expect(Array.from(pca.variances)).toEqual([0, 0, 0]);
    expect(Array.from(pca.projections).every((v) => v === 0)).toBe(true);
    const rgb = pcaRgb(pca, 2, 4);
    expect(Array.from(rgb.data.slice(0, 4))).toEqual([128, 128, 128, 255]);
  });

  it('maps each component from its minimum to its maximum, enlarged by the patch size', async () => {
    const x = tf.tensor2d([[0, 0], [1, 0], [2, 0], [3, 1]]);
    const pca = await principalComponents(x, { components: 2 });
    x.dispose();
    const img = pcaRgb(pca, 2, 2, { scale: 3 });
    expect([img.width, img.height]).toEqual([6, 6]);
    const reds = Array.from({ length: 36 }, (_, i) => img.data[i * 4]);
    expect(Math.min(...reds)).toBe(0);
    expect(Math.max(...reds)).toBe(255);
    // Blue: no third component -> mid-grey.
    expect(img.data[2]).toBe(128);
    // Nearest enlargement: the 3x3 block of one cell is one colour.
    expect(img.data[0]).toBe(img.data[(2 * 6 + 2) * 4]);
  });

  it('runs on a ViT\'s patch tokens and frees everything', async () => {
    const vit = createBackbone('vit', { imgSize: 32, patchSize: 8, embedDim: 32, depth: 1, numHeads: 2 });
    const image = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { pca, picture, grid } = await patchFeaturePca(vit, image);
    expect(tf.memory().numTensors).toBe(before);
    expect(grid).toEqual([4, 4]);
    expect([picture.width, picture.height]).toEqual([32, 32]);
    expect(pca.explained[0]).toBeGreaterThanOrEqual(pca.explained[1]);
    expect(pca.explained[1]).toBeGreaterThanOrEqual(pca.explained[2]);
    image.dispose();
    vit.dispose();
  });
});
