/** Small dense linear algebra for the SALT least-squares map (row-major Float64Array). */

/** Symmetric eigendecomposition by cyclic Jacobi rotations: G = V diag(w) Vᵀ. G is n×n, not modified. */
export function symEig(G: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(G);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/**
 * Minimum-norm least squares through the Gram matrix: for A (k×d) and a (d) returns the k
 * coefficients c = pinv(A·Aᵀ)·A·aᵀ, so that a·pinv(A) = cᵀ (pinv(A) = Aᵀ·pinv(A·Aᵀ)) and
 * a·pinv(A)·E = Σ_i c_i E_i for any E (k×D): SALT's e_new = a_new·X with X = pinv(A)·E.
 */
export function pinvCoefficients(
  A: Float64Array,
  k: number,
  d: number,
  a: ArrayLike<number>,
  eigCut = 1e-12,
): Float64Array {
  // More neighbours than dimensions: the dual form pinv(A) = pinv(AᵀA)·Aᵀ works on a d×d matrix,
  // so c = A·pinv(AᵀA)·aᵀ. Otherwise pinv(A) = Aᵀ·pinv(A·Aᵀ) on a k×k matrix, c = pinv(A·Aᵀ)·A·aᵀ.
  if (k > d) {
    const M = new Float64Array(d * d);
    for (let r = 0; r < k; r++)
      for (let i = 0; i < d; i++) {
        const x = A[r * d + i];
        if (x === 0) continue;
        for (let j = 0; j < d; j++) M[i * d + j] += x * A[r * d + j];
      }
    const u = pinvSymApply(M, d, a, eigCut);
    const c = new Float64Array(k);
    for (let r = 0; r < k; r++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += A[r * d + t] * u[t];
      c[r] = s;
    }
    return c;
  }
  const G = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = i; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += A[i * d + t] * A[j * d + t];
      G[i * k + j] = s;
      G[j * k + i] = s;
    }
  const b = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += A[i * d + t] * a[t];
    b[i] = s;
  }
  return pinvSymApply(G, k, b, eigCut);
}

/**
 * pinv(S)·b for a symmetric PSD n×n matrix S: V diag(1/w) Vᵀ b over eigenvalues above eigCut·w_max
 * (w = σ² of the underlying A, so singular values below 1e-6·σ_max count as zero; float64
 * rounding in S is ~1e-16·w_max).
 */
export function pinvSymApply(S: Float64Array, n: number, b: ArrayLike<number>, eigCut = 1e-12): Float64Array {
  const { values, vectors } = symEig(S, n);
  let max = 0;
  for (const x of values) max = Math.max(max, Math.abs(x));
  const cut = eigCut * max;
  const out = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    if (values[e] <= cut) continue;
    let proj = 0;
    for (let i = 0; i < n; i++) proj += vectors[i * n + e] * b[i];
    proj /= values[e];
    for (let i = 0; i < n; i++) out[i] += vectors[i * n + e] * proj;
  }
  return out;
}
