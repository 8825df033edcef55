/**
 * The WGSL of the WebGPU head log-probs kernel (webgpu.ts runs it through tfjs-backend-webgpu, which
 * puts its preamble in front: `uniforms`, the inputs named after variableNames, the output `result`).
 * One workgroup of WG threads per row n (hidden state h_n [D], target t_n); the head W [V, D] is read
 * in place, so no [N, V] logits exist anywhere:
 *   forward   each thread runs an online log-sum-exp over the vocabulary entries v ≡ thread (mod WG),
 *             l_v = h_n·W_v; the WG partial (max, sum, target logit) are combined by a tree in workgroup
 *             memory → [2, N]: lp = l_t − lse, then lse
 *   backward  per block of WG entries: each thread one coefficient c_v = dy_n (1[v = t_n] − exp(l_v − lse_n)),
 *             staged in workgroup memory, then each thread adds Σ_v c_v W[v, d] for its dims d ≡ thread
 *             (mod WG) → d h [N, D]
 * A target outside [0, V) (never made by packBatch) gets log-prob 0 and the gradient of −lse, as in the
 * reference's single-block path (its one-hot row is all zeros).
 * Plain f32, no subgroups: every adapter runs it.
 */
export const WG = 64;

/** Rows past this many workgroups along x continue along y (WebGPU's per-dimension dispatch limit). */
export const ROWS_PER_X = 32768;

export const UNIFORMS = 'N : i32, V : i32, D : i32,';

const rowIndex = `
fn rowIndex() -> i32 {
  return i32(workgroupId.y) * ${ROWS_PER_X} + i32(workgroupId.x);
}`;

export function forwardWgsl(): string {
  return `${rowIndex}
var<workgroup> rm : array<f32, ${WG}>;
var<workgroup> rs : array<f32, ${WG}>;
var<workgroup> rt : array<f32, ${WG}>;

fn main(index : i32) {
  let n = rowIndex();
  let live = n < uniforms.N;
  let nr = min(n, uniforms.N - 1);
  let li = i32(localIndex);
  let D = uniforms.D;
  let tgt = targets[nr];
  var m = -3.0e38;
  var s = 0.0;
  var t = 0.0;
  for (var v = li; v < uniforms.V; v = v + ${WG}) {
    var l = 0.0;
    for (var d = 0; d < D; d++) { l = l + h[nr * D + d] * w[v * D + d]; }
    if (l > m) { s = s * exp(m - l); m = l; }
    s = s + exp(l - m);
    if (v == tgt) { t = l; }
  }
  rm[li] = m;
  rs[li] = s;
  rt[li] = t;
  workgroupBarrier();
  for (var stride = ${WG / 2}; stride > 0; stride = stride / 2) {
    if (li < stride) {
      let m1 = rm[li];
      let m2 = rm[li + stride];
      let mn = max(m1, m2);
      rs[li] = rs[li] * exp(m1 - mn) + rs[li + stride] * exp(m2 - mn);
      rm[li] = mn;
      rt[li] = rt[li] + rt[li + stride];
    }
    workgroupBarrier();
  }
  if (live && li == 0) {
    let lse = rm[0] + log(rs[0]);
    var lp = rt[0] - lse;
    if (tgt < 0 || tgt >= uniforms.V) { lp = 0.0; }
    result[n] = lp;
    result[uniforms.N + n] = lse;
  }
}
`;
}

/** The backward for head dims up to dimsPerThread·WG. */
export function backwardWgsl(dimsPerThread: number): string {
  return `${rowIndex}
var<workgroup> coef : array<f32, ${WG}>;

fn main(index : i32) {
  let n = rowIndex();
  let live = n < uniforms.N;
  let nr = min(n, uniforms.N - 1);
  let li = i32(localIndex);
  let D = uniforms.D;
  let tgt = targets[nr];
  let lse = stats[uniforms.N + nr];
  let g = dy[nr];
  var acc : array<f32, ${dimsPerThread}>;
  let blocks = (uniforms.V + ${WG} - 1) / ${WG};
  for (var b = 0; b < blocks; b++) {
    let v0 = b * ${WG};
    let v = v0 + li;
    var c = 0.0;
    if (v < uniforms.V) {
      var l = 0.0;
      for (var d = 0; d < D; d++) { l = l + h[nr * D + d] * w[v * D + d]; }
      var hit = 0.0;
      if (v == tgt) { hit = 1.0; }
      c = g * (hit - exp(l - lse));
    }
    workgroupBarrier();
    coef[li] = c;
    workgroupBarrier();
    let vn = min(${WG}, uniforms.V - v0);
    for (var k = 0; k < ${dimsPerThread}; k++) {
      let d = li + k * ${WG};
      if (d < D) {
        var a = acc[k];
        for (var vv = 0; vv < vn; vv++) { a = a + coef[vv] * w[(v0 + vv) * D + d]; }
        acc[k] = a;
      }
    }
  }
  if (live) {
    for (var k = 0; k < ${dimsPerThread}; k++) {
      let d = li + k * ${WG};
      if (d < D) { result[n * D + d] = acc[k]; }
    }
  }
}
`;
}
