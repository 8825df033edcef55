/**
 * Sparsemax (Martins & Astudillo 2016): the Euclidean projection of z onto the probability simplex,
 * p_i = max(0, z_i − τ) with τ chosen so Σ p = 1. Sort z descending; k* = max{k : 1 + k·z_(k) > Σ_{j≤k} z_(j)};
 * τ = (Σ_{j≤k*} z_(j) − 1) / k*. Ties at the threshold get equal weights (all tied entries are in or out together
 * because the condition depends only on the values).
 */
export function sparsemax(z: ArrayLike<number>): Float64Array {
  const n = z.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const sorted = Array.from(z).sort((a, b) => b - a);
  let cum = 0;
  let k = 0;
  let cumK = 0;
  for (let i = 0; i < n; i++) {
    cum += sorted[i];
    if (1 + (i + 1) * sorted[i] > cum) {
      k = i + 1;
      cumK = cum;
    }
  }
  const tau = (cumK - 1) / k;
  for (let i = 0; i < n; i++) out[i] = Math.max(0, z[i] - tau);
  return out;
}
