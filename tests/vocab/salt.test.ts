import { describe, expect, it } from 'vitest';
import { sparsemax } from '../../src/lib/vocab/sparsemax';
import { pinvCoefficients } from '../../src/lib/vocab/linalg';
import { initMean, initRandom, initSalt, rowStats, saltRow } from '../../src/lib/vocab/init';

// Reference values below were computed independently with numpy (np.linalg.lstsq and
// np.linalg.pinv on the neighbour rows; sparsemax by bisection on the threshold τ).
const A = [
  [1, 0, 0],
  [0.9, 0.1, 0],
  [0, 1, 0],
  [0, 0, 1],
  [0.7, 0.7, 0.1],
  [-1, 0, 0.2],
];
const E = [
  [0.1, 0.2, 0.3, 0.4],
  [0.5, -0.1, 0.0, 0.2],
  [-0.3, 0.3, 0.1, 0.0],
  [0.2, 0.2, -0.2, 0.1],
  [0.05, 0.4, 0.3, -0.1],
  [1.0, 0.0, 0.0, 0.5],
];
const a = new Float32Array([0.8, 0.6, 0.05]);
const NUMPY_P = [0.23718396500985706, 0.2984733079435996, 0.037433513898311954, 0.0, 0.4269092131482314, 0.0];
const NUMPY_E = [0.09895604004174029, 0.29175825813051287, 0.2438461700826886, 0.09219781132587476];

/** sparsemax by bisection on τ (a different algorithm from the sort-based one under test) */
function sparsemaxBisect(z: number[]): number[] {
  let lo = Math.min(...z) - 1;
  let hi = Math.max(...z);
  for (let i = 0; i < 200; i++) {
    const t = (lo + hi) / 2;
    const s = z.reduce((acc, v) => acc + Math.max(0, v - t), 0);
    if (s > 1) lo = t;
    else hi = t;
  }
  return z.map((v) => Math.max(0, v - hi));
}

describe('sparsemax', () => {
  it('matches hand values, ties included', () => {
    const close = (got: Float64Array, want: number[]) => want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 12));
    close(sparsemax([2, 0, 0]), [1, 0, 0]);
    close(sparsemax([1, 1, 0]), [0.5, 0.5, 0]); // tie at the top: equal weights
    close(sparsemax([0.5, 0.5, 0.5]), [1 / 3, 1 / 3, 1 / 3]); // all tied
    close(sparsemax([0.2, 0.1, 0.1, -1]), [0.4, 0.3, 0.3, 0]); // tie inside the support, τ = -0.2
    close(sparsemax([0.3, 0.1, 0.1]), [0.3 + 1 / 6, 0.1 + 1 / 6, 0.1 + 1 / 6]); // τ = (0.5 − 1)/3
  });

  it('agrees with a bisection solver on random inputs and sums to 1', () => {
    let s = 1;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (let t = 0; t < 50; t++) {
      const z = Array.from({ length: 1 + (t % 9) }, rnd);
      const p = sparsemax(z);
      const q = sparsemaxBisect(z);
      p.forEach((v, i) => expect(v).toBeCloseTo(q[i], 9));
      expect(p.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    }
  });
});

describe('SALT least squares', () => {
  const shared = A.map((v, id) => ({ id, vec: new Float32Array(v), norm: Math.hypot(...new Float32Array(v)) }));
  const matrix = new Float32Array(E.flat());

  it('equals numpy (sparsemax neighbours, lstsq map) on the fixture', () => {
    const r = saltRow(a, shared, matrix, 4);
    expect(r.neighbours.slice().sort()).toEqual([0, 1, 2, 4]);
    const wById = new Map(r.neighbours.map((id, i) => [id, r.weights[i]]));
    NUMPY_P.forEach((p, id) => expect(wById.get(id) ?? 0).toBeCloseTo(p, 6));
    NUMPY_E.forEach((e, j) => expect(r.row[j]).toBeCloseTo(e, 5));
  });

  it('pinv coefficients solve the normal equations of an overdetermined full-rank system', () => {
    // k = 5 rows, d = 2: a·pinv(A) = a (AᵀA)⁻¹ Aᵀ, solved here by Cramer's rule on the 2×2 normal matrix
    const rows = [
      [1, 2],
      [0.5, -1],
      [3, 0.1],
      [-0.2, 0.7],
      [1, 1],
    ];
    const flat = new Float64Array(rows.flat());
    const v = [0.3, -0.8];
    const c = pinvCoefficients(flat, 5, 2, v);
    let s00 = 0,
      s01 = 0,
      s11 = 0;
    for (const [x, y] of rows) {
      s00 += x * x;
      s01 += x * y;
      s11 += y * y;
    }
    const det = s00 * s11 - s01 * s01;
    const inv = [s11 / det, -s01 / det, -s01 / det, s00 / det];
    const w = [v[0] * inv[0] + v[1] * inv[2], v[0] * inv[1] + v[1] * inv[3]];
    rows.forEach(([x, y], i) => expect(c[i]).toBeCloseTo(w[0] * x + w[1] * y, 10));
  });

  it('handles duplicate (rank-deficient) neighbours like pinv: the weight is shared', () => {
    // two identical rows: min-norm solution splits the coefficient equally
    const c = pinvCoefficients(new Float64Array([1, 0, 1, 0]), 2, 2, [2, 5]);
    expect(c[0]).toBeCloseTo(1, 10);
    expect(c[1]).toBeCloseTo(1, 10);
  });

  it('falls back to N(mean, std) for tokens without an auxiliary vector; mean averages the old pieces', () => {
    const inp = {
      matrix,
      oldVocab: 6,
      dim: 4,
      oldPieces: [[0, 2], []],
      seed: 3,
      rcond: 0,
      aux: { dim: 3, old: A.map((v) => new Float32Array(v)), added: [a, null], source: 'fixture' },
    };
    const s = initSalt(inp);
    expect(s.stats).toMatchObject({ fromNeighbours: 1, fallback: 1 });
    NUMPY_E.forEach((e, j) => expect(s.rows[j]).toBeCloseTo(e, 5));
    const r = initRandom(inp);
    // same seed, same fallback stream: SALT's fallback row equals random's first row
    for (let j = 0; j < 4; j++) expect(s.rows[4 + j]).toBe(r.rows[j]);
    const m = initMean(inp);
    for (let j = 0; j < 4; j++) expect(m.rows[j]).toBeCloseTo((E[0][j] + E[2][j]) / 2, 6);
    const { mean } = rowStats(matrix, 6, 4);
    expect(mean[0]).toBeCloseTo(E.reduce((x, row) => x + row[0], 0) / 6, 6);
  });
});
