import { describe, expect, it } from 'vitest';
import { symEig, symEigJacobi } from '../../src/lib/vocab/linalg';
import { gaussian, mulberry32 } from '../../src/lib/model/sample';

/** G = A·Aᵀ for a random k×d A: a PSD Gram matrix like SALT's, rank min(k, d). */
function gram(k: number, d: number, seed: number, scale = 1): Float64Array {
  const rng = mulberry32(seed);
  const A = Float64Array.from({ length: k * d }, () => gaussian(rng) * scale);
  const G = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += A[i * d + t] * A[j * d + t];
      G[i * k + j] = s;
    }
  return G;
}

/** max |V diag(w) Vᵀ − G| and max |VᵀV − I| */
function residuals(G: Float64Array, n: number, w: Float64Array, V: Float64Array): { rec: number; orth: number } {
  let rec = 0;
  let orth = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      let o = 0;
      for (let e = 0; e < n; e++) {
        s += V[i * n + e] * w[e] * V[j * n + e];
        o += V[e * n + i] * V[e * n + j];
      }
      rec = Math.max(rec, Math.abs(s - G[i * n + j]));
      orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
    }
  return { rec, orth };
}

describe('symEig (Householder + implicit QR)', () => {
  const cases: [number, number, number][] = [
    [1, 4, 1],
    [2, 4, 1],
    [5, 32, 1],
    [32, 32, 1],
    [32, 64, 3],
    [40, 20, 0.1], // rank-deficient: 20 zero eigenvalues
    [64, 32, 1],
  ];
  for (const [k, d, scale] of cases)
    it(`reconstructs G (k ${k}, d ${d}) with orthonormal vectors and Jacobi's eigenvalues`, () => {
      const G = gram(k, d, k * 100 + d, scale);
      const { values, vectors } = symEig(G, k);
      let gmax = 0;
      for (const x of G) gmax = Math.max(gmax, Math.abs(x));
      const r = residuals(G, k, values, vectors);
      expect(r.rec).toBeLessThan(1e-12 * Math.max(1, gmax));
      expect(r.orth).toBeLessThan(1e-12);
      const ref = symEigJacobi(G, k);
      const sorted = (x: Float64Array) => Array.from(x).sort((p, q) => p - q);
      const a = sorted(values);
      const b = sorted(ref.values);
      for (let i = 0; i < k; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-11 * Math.max(1, gmax));
    });

  it('handles a diagonal matrix, repeated eigenvalues and an already tridiagonal one', () => {
    for (const G of [
      new Float64Array([3, 0, 0, 0, 1, 0, 0, 0, 2]),
      new Float64Array([2, 0, 0, 0, 2, 0, 0, 0, 2]),
      new Float64Array([2, -1, 0, -1, 2, -1, 0, -1, 2]),
    ]) {
      const { values, vectors } = symEig(G, 3);
      expect(residuals(G, 3, values, vectors).rec).toBeLessThan(1e-14);
    }
    // eigenvalues of the 1D Laplacian tridiag(−1, 2, −1): 2 − 2cos(jπ/4), by hand
    const w = Array.from(symEig(new Float64Array([2, -1, 0, -1, 2, -1, 0, -1, 2]), 3).values).sort();
    [2 - Math.SQRT2, 2, 2 + Math.SQRT2].forEach((x, i) => expect(w[i]).toBeCloseTo(x, 13));
  });
});
