/**
 * The WGSL of the WebGPU attention kernels (webgpu.ts runs them through tfjs-backend-webgpu, which puts
 * its own preamble in front: the `uniforms` struct, the input arrays named after variableNames, the
 * output array `result`, and the builtins localIndex / workgroupId as private variables).
 *
 * Five passes, each a plain f32 shader (no subgroups, no f16: every adapter runs them, SwiftShader too):
 *   stats  per query row: m = max s_j, then 1/l with l = Σ exp(s_j − m)       → [2, n, R]
 *   out    per query row: Σ exp(s_j − m)/l · v_j                               → q-like
 *   dq     per query row: D = dO·out, dS_j = p_j (dO·v_j − D), scale·Σ dS_j k_j → q-like
 *   dk     per key:       Σ_r dS_rj · scale·q_r                                  → k-like
 *   dv     per key:       Σ_r p_rj · dO_r                                        → k-like
 * with s_j = scale·q·k_j + bias[r, j] and p_j = exp(s_j − m)·(1/l). No [R, S] tensor exists anywhere.
 * Row passes run a workgroup of WG query rows of one pair over tiles of TILE keys (k and v rows staged
 * in workgroup memory); key passes the transpose (WG keys, tiles of TILE query rows with their m, 1/l
 * and D). TILE is chosen so that the two staged tiles take at most 8 KiB whatever the head dim.
 *
 * Masking, as in the WebAssembly kernel (kernel.ts): a row stops at kEnd, 1 + its last key with bias
 * > −1e8 (or all S keys when none is visible); the masked keys it skips have exp(s − m) = 0 exactly.
 * The key passes skip (r, j) where bias[r, j] ≤ −1e8 and the row has a visible key (m > −1e8): p is
 * exactly 0 there too. Fully masked rows use every key, as the reference softmax does.
 *
 * Layouts come from uniforms: q-like row (p, r) of pair p = b·Hkv + kvHead, row r = g·T + t lies at
 * ((b·T + t)·H + kvHead·G + g)·hd and k-like row (p, j) at ((b·S + j)·Hkv + kvHead)·hd; the plain
 * [n, R, hd] / [n, S, hd] layouts are the case B = n, T = R, H = Hkv = 1.
 */
export type AttentionPass = 'stats' | 'out' | 'dq' | 'dk' | 'dv';

/** Query rows (row passes) or keys (key passes) per workgroup. */
export const WG = 64;

/** Keys (row passes) or query rows (key passes) staged per tile for head dim hd. */
export function tileFor(hd: number): number {
  return Math.max(1, Math.min(WG, Math.floor(1024 / hd)));
}

/** Input names, in binding order, of each pass. */
export const PASS_INPUTS: Record<AttentionPass, string[]> = {
  stats: ['q', 'k', 'bias'],
  out: ['q', 'k', 'v', 'bias', 'stats'],
  dq: ['q', 'k', 'v', 'bias', 'stats', 'o', 'dO'],
  dk: ['q', 'k', 'v', 'bias', 'stats', 'o', 'dO'],
  dv: ['q', 'k', 'bias', 'stats', 'dO'],
};

/** The program-defined uniforms (appended by the backend after its own), in order. */
export const UNIFORMS = 'n : i32, R : i32, S : i32, T : i32, H : i32, Hkv : i32, pairs : i32, scale : f32,';

const common = (hd: number, tile: number) => `
const HD : i32 = ${hd};
const WG : i32 = ${WG};
const TILE : i32 = ${tile};
const MASKED : f32 = -1e8;

fn qRow(p : i32, r : i32) -> i32 {
  let G = uniforms.H / uniforms.Hkv;
  let b = p / uniforms.Hkv;
  let kvh = p % uniforms.Hkv;
  let g = r / uniforms.T;
  let t = r % uniforms.T;
  return ((b * uniforms.T + t) * uniforms.H + kvh * G + g) * HD;
}

fn kRow(p : i32, j : i32) -> i32 {
  let b = p / uniforms.Hkv;
  let kvh = p % uniforms.Hkv;
  return ((b * uniforms.S + j) * uniforms.Hkv + kvh) * HD;
}

fn biasRow(p : i32, r : i32) -> i32 {
  if (uniforms.pairs == 1) {
    return r * uniforms.S;
  }
  return (p * uniforms.R + r) * uniforms.S;
}
`;

/** Row passes: one thread per query row, tiles of keys in workgroup memory. */
function rowPass(pass: 'stats' | 'out' | 'dq', hd: number, tile: number): string {
  const needV = pass !== 'stats';
  const stage = needV ? 'kt[i] = k[kRow(p, j) + d]; vt[i] = v[kRow(p, j) + d];' : 'kt[i] = k[kRow(p, j) + d];';
  const zero = needV ? 'kt[i] = 0.0; vt[i] = 0.0;' : 'kt[i] = 0.0;';
  let prologue: string;
  let body: string;
  let epilogue: string;
  if (pass === 'stats') {
    prologue = 'var m = -3.0e38; var l = 0.0;';
    body = `
        if (s > m) { l = l * exp(m - s); m = s; }
        l = l + exp(s - m);`;
    epilogue = `
    result[p * uniforms.R + r] = m;
    result[uniforms.n * uniforms.R + p * uniforms.R + r] = 1.0 / l;`;
  } else if (pass === 'out') {
    prologue = `
    let m = stats[p * uniforms.R + rr];
    let li = stats[uniforms.n * uniforms.R + p * uniforms.R + rr];
    var acc : array<f32, ${hd}>;`;
    body = `
        let e = exp(s - m) * li;
        for (var d = 0; d < HD; d++) { acc[d] = acc[d] + e * vt[jj * HD + d]; }`;
    epilogue = `
    for (var d = 0; d < HD; d++) { result[qo + d] = acc[d]; }`;
  } else {
    prologue = `
    let m = stats[p * uniforms.R + rr];
    let li = stats[uniforms.n * uniforms.R + p * uniforms.R + rr];
    var g : array<f32, ${hd}>;
    var acc : array<f32, ${hd}>;
    var D = 0.0;
    for (var d = 0; d < HD; d++) { g[d] = dO[qo + d]; D = D + g[d] * o[qo + d]; }`;
    body = `
        var dp = 0.0;
        for (var d = 0; d < HD; d++) { dp = dp + g[d] * vt[jj * HD + d]; }
        let dS = exp(s - m) * li * (dp - D);
        for (var d = 0; d < HD; d++) { acc[d] = acc[d] + dS * kt[jj * HD + d]; }`;
    epilogue = `
    for (var d = 0; d < HD; d++) { result[qo + d] = uniforms.scale * acc[d]; }`;
  }
  return `${common(hd, tile)}
var<workgroup> kt : array<f32, ${tile * hd}>;
${needV ? `var<workgroup> vt : array<f32, ${tile * hd}>;` : ''}

fn main(index : i32) {
  let p = i32(workgroupId.y);
  let r = i32(workgroupId.x) * WG + i32(localIndex);
  let live = r < uniforms.R;
  let rr = min(r, uniforms.R - 1);
  let bo = biasRow(p, rr);
  var kEnd = uniforms.S;
  while (kEnd > 0 && !(bias[bo + kEnd - 1] > MASKED)) { kEnd = kEnd - 1; }
  if (kEnd == 0) { kEnd = uniforms.S; }
  let qo = qRow(p, rr);
  var qs : array<f32, ${hd}>;
  for (var d = 0; d < HD; d++) { qs[d] = uniforms.scale * q[qo + d]; }
  ${prologue}
  let tiles = (uniforms.S + TILE - 1) / TILE;
  for (var tl = 0; tl < tiles; tl++) {
    let j0 = tl * TILE;
    workgroupBarrier();
    for (var i = i32(localIndex); i < TILE * HD; i = i + WG) {
      let j = j0 + i / HD;
      let d = i % HD;
      if (j < uniforms.S) { ${stage} } else { ${zero} }
    }
    workgroupBarrier();
    let jn = min(TILE, kEnd - j0);
    for (var jj = 0; jj < jn; jj++) {
      var s = 0.0;
      for (var d = 0; d < HD; d++) { s = s + qs[d] * kt[jj * HD + d]; }
      s = s + bias[bo + j0 + jj];
      ${body}
    }
  }
  if (live) {
    ${epilogue}
  }
}
`;
}

/** Key passes: one thread per key, tiles of query rows (q, dO, m, 1/l, D, bias offset) in workgroup memory. */
function keyPass(pass: 'dk' | 'dv', hd: number, tile: number): string {
  const dk = pass === 'dk';
  return `${common(hd, tile)}
var<workgroup> qt : array<f32, ${tile * hd}>;
var<workgroup> gt : array<f32, ${tile * hd}>;
var<workgroup> mt : array<f32, ${tile}>;
var<workgroup> lt : array<f32, ${tile}>;
var<workgroup> bt : array<i32, ${tile}>;
${dk ? `var<workgroup> Dt : array<f32, ${tile}>;` : ''}

fn main(index : i32) {
  let p = i32(workgroupId.y);
  let j = i32(workgroupId.x) * WG + i32(localIndex);
  let live = j < uniforms.S;
  let jc = min(j, uniforms.S - 1);
  let ko = kRow(p, jc);
  var kv : array<f32, ${hd}>;
  var acc : array<f32, ${hd}>;
  ${dk ? 'for (var d = 0; d < HD; d++) { kv[d] = k[ko + d]; }\n  var vv : array<f32, ' + hd + '>;\n  for (var d = 0; d < HD; d++) { vv[d] = v[ko + d]; }' : 'for (var d = 0; d < HD; d++) { kv[d] = k[ko + d]; }'}
  let nR = uniforms.n * uniforms.R;
  let tiles = (uniforms.R + TILE - 1) / TILE;
  for (var tl = 0; tl < tiles; tl++) {
    let r0 = tl * TILE;
    workgroupBarrier();
    for (var i = i32(localIndex); i < TILE * HD; i = i + WG) {
      let r = r0 + i / HD;
      let d = i % HD;
      if (r < uniforms.R) {
        let qo = qRow(p, r);
        qt[i] = uniforms.scale * q[qo + d];
        gt[i] = dO[qo + d];
      } else {
        qt[i] = 0.0;
        gt[i] = 0.0;
      }
    }
    let li = i32(localIndex);
    if (li < TILE) {
      let r = min(r0 + li, uniforms.R - 1);
      mt[li] = stats[p * uniforms.R + r];
      lt[li] = stats[nR + p * uniforms.R + r];
      bt[li] = biasRow(p, r);
      ${
        dk
          ? `let qo = qRow(p, r);
      var D = 0.0;
      for (var d = 0; d < HD; d++) { D = D + dO[qo + d] * o[qo + d]; }
      Dt[li] = D;`
          : ''
      }
    }
    workgroupBarrier();
    let rn = min(TILE, uniforms.R - r0);
    for (var ii = 0; ii < rn; ii++) {
      let b = bias[bt[ii] + jc];
      let m = mt[ii];
      if (b <= MASKED && m > MASKED) { continue; }
      var s = 0.0;
      for (var d = 0; d < HD; d++) { s = s + qt[ii * HD + d] * kv[d]; }
      let pr = exp(s + b - m) * lt[ii];
      ${
        dk
          ? `var dp = 0.0;
      for (var d = 0; d < HD; d++) { dp = dp + gt[ii * HD + d] * vv[d]; }
      let dS = pr * (dp - Dt[ii]);
      for (var d = 0; d < HD; d++) { acc[d] = acc[d] + dS * qt[ii * HD + d]; }`
          : 'for (var d = 0; d < HD; d++) { acc[d] = acc[d] + pr * gt[ii * HD + d]; }'
      }
    }
  }
  if (live) {
    for (var d = 0; d < HD; d++) { result[ko + d] = acc[d]; }
  }
}
`;
}

/** The user code of one pass for head dim hd. */
export function attentionWgsl(pass: AttentionPass, hd: number): string {
  const tile = tileFor(hd);
  return pass === 'dk' || pass === 'dv' ? keyPass(pass, hd, tile) : rowPass(pass, hd, tile);
}
