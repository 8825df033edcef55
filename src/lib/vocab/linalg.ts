/** Small dense linear algebra for the SALT least-squares map (row-major Float64Array). */

/**
 * Symmetric eigendecomposition G = V diag(w) Vᵀ (G n×n, not modified; vectors[i·n + e] is component
 * i of eigenvector e): Householder reduction to tridiagonal form, then implicit QR steps with the
 * Wilkinson shift, the rotations accumulated into V. About 10 n³ flops against ~80 n³ for cyclic
 * Jacobi (symEigJacobi, kept as an independent reference for the tests); SALT runs one per new token.
 */
export function symEig(G: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(G);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  // 1. Householder: for column k, reflect a[k+1.., k] onto a multiple of the first unit vector.
  for (let k = 0; k < n - 2; k++) {
    const m0 = k + 1;
    let xx = 0;
    for (let i = m0; i < n; i++) xx += a[i * n + k] * a[i * n + k];
    const xn = Math.sqrt(xx);
    if (xn === 0) continue;
    const x0 = a[m0 * n + k];
    const alpha = x0 > 0 ? -xn : xn;
    // v = x − alpha·e1, normalised; H = I − 2vvᵀ
    let vv = 0;
    for (let i = m0; i < n; i++) {
      v[i] = a[i * n + k] - (i === m0 ? alpha : 0);
      vv += v[i] * v[i];
    }
    if (vv === 0) continue;
    const inv = 1 / Math.sqrt(vv);
    for (let i = m0; i < n; i++) v[i] *= inv;
    // trailing block B ← H B H = B − 2 v wᵀ − 2 w vᵀ with p = B v, w = p − (vᵀp) v
    let vp = 0;
    for (let i = m0; i < n; i++) {
      let s = 0;
      for (let j = m0; j < n; j++) s += a[i * n + j] * v[j];
      p[i] = s;
      vp += v[i] * s;
    }
    for (let i = m0; i < n; i++) p[i] -= vp * v[i];
    for (let i = m0; i < n; i++) for (let j = m0; j < n; j++) a[i * n + j] -= 2 * (v[i] * p[j] + p[i] * v[j]);
    a[m0 * n + k] = alpha;
    a[k * n + m0] = alpha;
    for (let i = m0 + 1; i < n; i++) {
      a[i * n + k] = 0;
      a[k * n + i] = 0;
    }
    // V ← V H on columns m0..n−1
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = m0; j < n; j++) s += q[r * n + j] * v[j];
      s *= 2;
      if (s !== 0) for (let j = m0; j < n; j++) q[r * n + j] -= s * v[j];
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  let norm = 0;
  for (let i = 0; i < n; i++) {
    d[i] = a[i * n + i];
    norm = Math.max(norm, Math.abs(d[i]));
    if (i < n - 1) {
      e[i] = a[(i + 1) * n + i];
      norm = Math.max(norm, Math.abs(e[i]));
    }
  }
  // 2. implicit symmetric QR on (d, e), deflating from the bottom
  const EPS = 2.220446049250313e-16;
  const negligible = (i: number) =>
    Math.abs(e[i]) <= EPS * (Math.abs(d[i]) + Math.abs(d[i + 1])) || Math.abs(e[i]) <= 1e-300 + EPS * EPS * norm;
  let hi = n - 1;
  let iters = 0;
  while (hi > 0) {
    if (negligible(hi - 1)) {
      e[hi - 1] = 0;
      hi--;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && !negligible(lo - 1)) lo--;
    if (lo > 0) e[lo - 1] = 0;
    if (++iters > 60 * n) return symEigJacobi(G, n); // not converging (never seen): the slow, sure path
    // Wilkinson shift from the trailing 2×2 of the block
    const dd = (d[hi - 1] - d[hi]) / 2;
    const b2 = e[hi - 1] * e[hi - 1];
    const mu = d[hi] - b2 / (dd + (dd >= 0 ? 1 : -1) * Math.sqrt(dd * dd + b2));
    let x = d[lo] - mu;
    let z = e[lo];
    let bulge = 0;
    for (let k = lo; k < hi; k++) {
      // rotation in plane (k, k+1) with c = x/r, s = −z/r: zeroes z (the bulge at (k−1, k+1) after the first)
      const r = Math.hypot(x, z);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : -z / r;
      if (k > lo) e[k - 1] = r;
      const ak = d[k];
      const bk = e[k];
      const ck = d[k + 1];
      d[k] = c * c * ak - 2 * c * s * bk + s * s * ck;
      d[k + 1] = s * s * ak + 2 * c * s * bk + c * c * ck;
      e[k] = c * s * (ak - ck) + (c * c - s * s) * bk;
      if (k + 1 < hi) {
        bulge = -s * e[k + 1];
        e[k + 1] *= c;
      }
      for (let i = 0; i < n; i++) {
        const qk = q[i * n + k];
        const qk1 = q[i * n + k + 1];
        q[i * n + k] = c * qk - s * qk1;
        q[i * n + k + 1] = s * qk + c * qk1;
      }
      x = e[k];
      z = bulge;
    }
  }
  return { values: d, vectors: q };
}

/** Symmetric eigendecomposition by cyclic Jacobi rotations: G = V diag(w) Vᵀ. G is n×n, not modified. */
export function symEigJacobi(G: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
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
    // AᵀA: the upper triangle, then mirrored
    const M = new Float64Array(d * d);
    for (let r = 0; r < k; r++) {
      const o = r * d;
      for (let i = 0; i < d; i++) {
        const x = A[o + i];
        if (x === 0) continue;
        for (let j = i; j < d; j++) M[i * d + j] += x * A[o + j];
      }
    }
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) M[j * d + i] = M[i * d + j];
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
