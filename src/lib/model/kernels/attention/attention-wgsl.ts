/**
 * The WGSL of the WebGPU attention kernels (webgpu.ts runs them with runWgsl, kernels/webgpu-program.ts:
 * outputs first in the bindings, then inputs, then the uniforms).
 *
 * Three passes, each a plain f32 shader (no subgroups, no f16: every adapter runs them, SwiftShader too):
 *   fwd  per query row, online softmax: m, l and Σ exp(s_j − m)·v_j in one sweep of the keys
 *        (rescaled when m grows)                                      → out (q-like), stats [2, n, R]
 *   dq   per query row: D = dO·out, dS_j = p_j (dO·v_j − D), scale·Σ dS_j k_j   → q-like
 *   dkv  per key:       dk = Σ_r dS_rj · scale·q_r,  dv = Σ_r p_rj · dO_r        → k-like, both
 *        (or as two passes dk, dv where the device binds too few storage buffers for one)
 * with s_j = scale·q·k_j + bias[r, j] and p_j = exp(s_j − m)·(1/l), stats = (m, 1/l) per row. The
 * backward passes recompute D = rowsum(dO ∘ out) where they need it (dq per row, dkv per staged row)
 * instead of a pass of its own. No [R, S] tensor exists anywhere.
 * Row passes run a workgroup of WG query rows of one pair over tiles of TILE keys (k and v rows staged
 * in workgroup memory); the key pass the transpose (WG keys, tiles of TILE query rows with their m, 1/l,
 * D and bias offset). TILE is chosen so that the two staged tiles take at most 8 KiB whatever the head dim.
 *
 * Rotary positions (rope 'half' or 'interleaved', the pairings of model/rope.ts): q and k are the
 * projections before RoPE and the table `cs` [T, hd] (RopeTables.cs: cos at the first coordinate of
 * each pair, sin at the second: one binding, not two) comes as one more input. Every load of a q or k
 * coordinate rotates it (position t of the query row, j of the key: the head layout with S = T), reading
 * its partner coordinate itself, x̃[d] = x[d]·cos[t, d] + σ_d·x[partner(d)]·sin[t, d] (σ_d = −1 for the
 * first of a pair, +1 for the second); dq and dk are rotated back before they are written,
 * dx[d] = dx̃[d]·cos[t, d] − σ_d·dx̃[partner(d)]·sin[t, d] (the rotation is orthogonal and a pair
 * shares its angle), so the gradients are those of the unrotated inputs.
 *
 * Masking, as in the WebAssembly kernel (kernel.ts): a row stops at kEnd, 1 + its last key with bias
 * > −1e8 (or all S keys when none is visible); the masked keys it skips have exp(s − m) = 0 exactly.
 * The key pass skips (r, j) where bias[r, j] ≤ −1e8 and the row has a visible key (m > −1e8): p is
 * exactly 0 there too. Fully masked rows use every key, as the reference softmax does.
 *
 * Layouts come from uniforms: q-like row (p, r) of pair p = b·Hkv + kvHead, row r = g·T + t lies at
 * ((b·T + t)·H + kvHead·G + g)·hd and k-like row (p, j) at ((b·S + j)·Hkv + kvHead)·hd; the plain
 * [n, R, hd] / [n, S, hd] layouts are the case B = n, T = R, H = Hkv = 1.
 */
export type AttentionPass = 'fwd' | 'dq' | 'dkv' | 'dk' | 'dv';

/** 'none', or the RoPE pairing folded into the loads of q and k. */
export type AttentionRope = 'none' | 'half' | 'interleaved';

/** Query rows (row passes) or keys (key pass) per workgroup. */
export const WG = 64;

/** Keys (row passes) or query rows (key pass) staged per tile for head dim hd. */
export function tileFor(hd: number): number {
  return Math.max(1, Math.min(WG, Math.floor(1024 / hd)));
}

/**
 * Output and input names, in binding order, of each pass (the rope table `cs` follows the inputs when used).
 * dk and dv are dkv in two passes, for devices with fewer storage buffers per shader than dkv binds
 * (storageBuffers; webgpu.ts picks).
 */
export const PASS_OUTPUTS: Record<AttentionPass, string[]> = {
  fwd: ['out', 'stats'],
  dq: ['dq'],
  dkv: ['dk', 'dv'],
  dk: ['dk'],
  dv: ['dv'],
};
export const PASS_INPUTS: Record<AttentionPass, string[]> = {
  fwd: ['q', 'k', 'v', 'bias'],
  dq: ['q', 'k', 'v', 'bias', 'stats', 'o', 'dO'],
  dkv: ['q', 'k', 'v', 'bias', 'stats', 'o', 'dO'],
  dk: ['q', 'k', 'v', 'bias', 'stats', 'o', 'dO'],
  dv: ['q', 'k', 'bias', 'stats', 'dO'],
};

/** The storage buffers a pass binds (outputs and inputs). */
export const storageBuffers = (pass: AttentionPass, rope: AttentionRope): number =>
  PASS_OUTPUTS[pass].length + PASS_INPUTS[pass].length + (rope === 'none' ? 0 : 1);

/** WGSL names of the outputs (the forward's differ from the backward's inputs of the same names). */
const wgslName = (name: string) => (name === 'out' ? 'outA' : name === 'stats' ? 'statsA' : name);

function bindings(pass: AttentionPass, rope: AttentionRope): string {
  const outs = PASS_OUTPUTS[pass].map(wgslName);
  const ins = [...PASS_INPUTS[pass], ...(rope === 'none' ? [] : ['cs'])];
  const lines = [
    ...outs.map((x, i) => `@group(0) @binding(${i}) var<storage, read_write> ${x} : array<f32>;`),
    ...ins.map((x, i) => `@group(0) @binding(${outs.length + i}) var<storage, read> ${x} : array<f32>;`),
    `struct U { n : i32, R : i32, S : i32, T : i32, H : i32, Hkv : i32, pairs : i32, scale : f32 };`,
    `@group(0) @binding(${outs.length + ins.length}) var<uniform> u : U;`,
  ];
  return lines.join('\n');
}

/**
 * The loads of q and k (rotated by their position with rope), and `unrot(a, t, d)`: the code that rotates
 * coordinate d of the private array `a` (a gradient at position t) back.
 */
function ropeCode(rope: AttentionRope, hd: number): { fns: string; unrot: (a: string, t: string) => string } {
  if (rope === 'none')
    return {
      fns: `
fn ldQ(base : i32, t : i32, d : i32) -> f32 { return q[base + d]; }
fn ldK(base : i32, j : i32, d : i32) -> f32 { return k[base + d]; }`,
      unrot: (a) => `${a}[d]`,
    };
  // isFirst(d): d is its pair's first coordinate; cs holds the pair's cos there, its sin at the partner
  const pair =
    rope === 'interleaved'
      ? `
fn partner(d : i32) -> i32 { return select(d - 1, d + 1, d % 2 == 0); }
fn isFirst(d : i32) -> bool { return d % 2 == 0; }`
      : `
const HALF : i32 = ${hd / 2};
fn partner(d : i32) -> i32 { return select(d - HALF, d + HALF, d < HALF); }
fn isFirst(d : i32) -> bool { return d < HALF; }`;
  return {
    fns: `${pair}
fn sgn(d : i32) -> f32 { return select(1.0, -1.0, isFirst(d)); }
fn cosAt(t : i32, d : i32) -> f32 { return cs[t * HD + select(partner(d), d, isFirst(d))]; }
fn sinAt(t : i32, d : i32) -> f32 { return cs[t * HD + select(d, partner(d), isFirst(d))]; }
fn ldQ(base : i32, t : i32, d : i32) -> f32 {
  return q[base + d] * cosAt(t, d) + sgn(d) * q[base + partner(d)] * sinAt(t, d);
}
fn ldK(base : i32, j : i32, d : i32) -> f32 {
  return k[base + d] * cosAt(j, d) + sgn(d) * k[base + partner(d)] * sinAt(j, d);
}`,
    unrot: (a, t) => `(${a}[d] * cosAt(${t}, d) - sgn(d) * ${a}[partner(d)] * sinAt(${t}, d))`,
  };
}

const common = (hd: number, tile: number) => `
const HD : i32 = ${hd};
const WG : i32 = ${WG};
const TILE : i32 = ${tile};
const MASKED : f32 = -1e8;

fn qRow(p : i32, r : i32) -> i32 {
  let G = u.H / u.Hkv;
  let b = p / u.Hkv;
  let kvh = p % u.Hkv;
  let g = r / u.T;
  let t = r % u.T;
  return ((b * u.T + t) * u.H + kvh * G + g) * HD;
}

fn kRow(p : i32, j : i32) -> i32 {
  let b = p / u.Hkv;
  let kvh = p % u.Hkv;
  return ((b * u.S + j) * u.Hkv + kvh) * HD;
}

fn biasRow(p : i32, r : i32) -> i32 {
  if (u.pairs == 1) {
    return r * u.S;
  }
  return (p * u.R + r) * u.S;
}
`;

/** Row passes: one thread per query row, tiles of keys (k and v rows) in workgroup memory. */
function rowPass(pass: 'fwd' | 'dq', hd: number, tile: number, rope: AttentionRope): string {
  const { fns, unrot } = ropeCode(rope, hd);
  let prologue: string;
  let body: string;
  let epilogue: string;
  if (pass === 'fwd') {
    prologue = `
  var m = -3.0e38;
  var l = 0.0;
  var acc : array<f32, ${hd}>;`;
    body = `
      if (s > m) {
        let c = exp(m - s);
        l = l * c;
        for (var d = 0; d < HD; d++) { acc[d] = acc[d] * c; }
        m = s;
      }
      let e = exp(s - m);
      l = l + e;
      for (var d = 0; d < HD; d++) { acc[d] = acc[d] + e * vt[jj * HD + d]; }`;
    epilogue = `
    let li = 1.0 / l;
    for (var d = 0; d < HD; d++) { outA[qo + d] = acc[d] * li; }
    statsA[p * u.R + r] = m;
    statsA[u.n * u.R + p * u.R + r] = li;`;
  } else {
    prologue = `
  let m = stats[p * u.R + rr];
  let li = stats[u.n * u.R + p * u.R + rr];
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
    for (var d = 0; d < HD; d++) { dq[qo + d] = u.scale * ${unrot('acc', 't')}; }`;
  }
  return `${bindings(pass, rope)}
${common(hd, tile)}
${fns}
var<workgroup> kt : array<f32, ${tile * hd}>;
var<workgroup> vt : array<f32, ${tile * hd}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) lid : u32) {
  let p = i32(wid.y);
  let r = i32(wid.x) * WG + i32(lid);
  let live = r < u.R;
  let rr = min(r, u.R - 1);
  let t = rr % u.T;
  let bo = biasRow(p, rr);
  var kEnd = u.S;
  while (kEnd > 0 && !(bias[bo + kEnd - 1] > MASKED)) { kEnd = kEnd - 1; }
  if (kEnd == 0) { kEnd = u.S; }
  let qo = qRow(p, rr);
  var qs : array<f32, ${hd}>;
  for (var d = 0; d < HD; d++) { qs[d] = u.scale * ldQ(qo, t, d); }
  ${prologue}
  let tiles = (u.S + TILE - 1) / TILE;
  for (var tl = 0; tl < tiles; tl++) {
    let j0 = tl * TILE;
    workgroupBarrier();
    for (var i = i32(lid); i < TILE * HD; i = i + WG) {
      let j = j0 + i / HD;
      let d = i % HD;
      if (j < u.S) {
        let ko = kRow(p, j);
        kt[i] = ldK(ko, j, d);
        vt[i] = v[ko + d];
      } else {
        kt[i] = 0.0;
        vt[i] = 0.0;
      }
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

/**
 * The key pass (dkv: dk and dv; dk or dv alone): one thread per key, tiles of query rows (scale·q, dO, m,
 * 1/l, D, bias offset) in workgroup memory.
 */
function keyPass(pass: 'dkv' | 'dk' | 'dv', hd: number, tile: number, rope: AttentionRope): string {
  const { fns, unrot } = ropeCode(rope, hd);
  const wantK = pass !== 'dv';
  const wantV = pass !== 'dk';
  const k = (code: string) => (wantK ? code : '');
  const v = (code: string) => (wantV ? code : '');
  return `${bindings(pass, rope)}
${common(hd, tile)}
${fns}
var<workgroup> qt : array<f32, ${tile * hd}>;
var<workgroup> gt : array<f32, ${tile * hd}>;
var<workgroup> mt : array<f32, ${tile}>;
var<workgroup> lt : array<f32, ${tile}>;
var<workgroup> bt : array<i32, ${tile}>;
${k(`var<workgroup> Dt : array<f32, ${tile}>;`)}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) lid : u32) {
  let p = i32(wid.y);
  let j = i32(wid.x) * WG + i32(lid);
  let live = j < u.S;
  let jc = min(j, u.S - 1);
  let ko = kRow(p, jc);
  var kv : array<f32, ${hd}>;
  for (var d = 0; d < HD; d++) { kv[d] = ldK(ko, jc, d); }
  ${k(`var vv : array<f32, ${hd}>;
  var aK : array<f32, ${hd}>;
  for (var d = 0; d < HD; d++) { vv[d] = v[ko + d]; }`)}
  ${v(`var aV : array<f32, ${hd}>;`)}
  let nR = u.n * u.R;
  let tiles = (u.R + TILE - 1) / TILE;
  for (var tl = 0; tl < tiles; tl++) {
    let r0 = tl * TILE;
    workgroupBarrier();
    for (var i = i32(lid); i < TILE * HD; i = i + WG) {
      let r = r0 + i / HD;
      let d = i % HD;
      if (r < u.R) {
        let qo = qRow(p, r);
        qt[i] = u.scale * ldQ(qo, r % u.T, d);
        gt[i] = dO[qo + d];
      } else {
        qt[i] = 0.0;
        gt[i] = 0.0;
      }
    }
    let li = i32(lid);
    if (li < TILE) {
      let r = min(r0 + li, u.R - 1);
      mt[li] = stats[p * u.R + r];
      lt[li] = stats[nR + p * u.R + r];
      bt[li] = biasRow(p, r);
      ${k(`let qo = qRow(p, r);
      var D = 0.0;
      for (var d = 0; d < HD; d++) { D = D + dO[qo + d] * o[qo + d]; }
      Dt[li] = D;`)}
    }
    workgroupBarrier();
    let rn = min(TILE, u.R - r0);
    for (var ii = 0; ii < rn; ii++) {
      let b = bias[bt[ii] + jc];
      let m = mt[ii];
      if (b <= MASKED && m > MASKED) { continue; }
      var s = 0.0;
      for (var d = 0; d < HD; d++) { s = s + qt[ii * HD + d] * kv[d]; }
      let pr = exp(s + b - m) * lt[ii];
      ${v(`for (var d = 0; d < HD; d++) { aV[d] = aV[d] + pr * gt[ii * HD + d]; }`)}
      ${k(`var dp = 0.0;
      for (var d = 0; d < HD; d++) { dp = dp + gt[ii * HD + d] * vv[d]; }
      let dS = pr * (dp - Dt[ii]);
      for (var d = 0; d < HD; d++) { aK[d] = aK[d] + dS * qt[ii * HD + d]; }`)}
    }
  }
  if (live) {
    for (var d = 0; d < HD; d++) {
      ${k(`dk[ko + d] = ${unrot('aK', 'jc')};`)}
      ${v('dv[ko + d] = aV[d];')}
    }
  }
}
`;
}

/** The whole shader of one pass for head dim hd (hd even with rope). */
export function attentionWgsl(pass: AttentionPass, hd: number, rope: AttentionRope = 'none'): string {
  const tile = tileFor(hd);
  return pass === 'fwd' || pass === 'dq' ? rowPass(pass, hd, tile, rope) : keyPass(pass, hd, tile, rope);
}
