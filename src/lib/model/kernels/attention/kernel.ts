/**
 * The fused attention kernel (attention.wat, WebAssembly SIMD128). It runs either in place on
 * tfjs-backend-wasm's heap (forwardInMemory / backwardInMemory on byte offsets, through
 * wasm-op.ts: no copies of the tensors) or, on other backends, over plain Float32Arrays copied
 * into a memory of its own (attentionForward / attentionBackward). The kernel's own layout moves (row
 * gathers, the transposes of k and v to [hd, S] so that scores run 16 keys per SIMD step) cost
 * O(n·S·hd), small beside the O(n·R·S·hd) products.
 *
 * Forward, per pair and query row r: s_j = scale·q_r·k_j + bias[r, j] for keys j < kEnd[r],
 * m = max s, l = Σ exp(s_j − m), out_r = Σ exp(s_j − m)·v_j / l; the row statistics m and 1/l are
 * saved (lse = m + log l in two parts: a fully masked row has m ≈ −1e9, next to which f32 loses log l).
 * Backward (FlashAttention's: P is recomputed from the statistics, never stored): D_r = dO_r·out_r,
 * p_j = exp(s_j − m_r) / l_r, dS_j = p_j (dO_r·v_j − D_r), dq_r = scale·Σ dS_j k_j,
 * dk_j += scale·dS_j q_r, dv_j += p_j dO_r.
 * kEnd[r] is 1 + the last key whose bias is not masked (> −1e8): masked keys have exp exactly 0, so
 * skipping the tail of causal rows is exact. Rows with no visible key use all S keys.
 */
import { wasmBytes } from './attention-wasm';
import { join, post, readyHelpers } from './threads';
import { instantiateKernel } from '../wasm-heap';

export interface Exports {
  mem: WebAssembly.Memory;
  expArray(ptr: number, len: number): void;
  zero(ptr: number, bytes: number): void;
  reciprocal(ptr: number, count: number): void;
  forward(...args: number[]): void;
  backward(...args: number[]): void;
  gatherRows(dst: number, src: number, offs: number, count: number, hdB: number): void;
  scatterRows(dst: number, src: number, offs: number, count: number, hdB: number): void;
  transposeIn(dst: number, src: number, offs: number, n: number, S: number, hd: number, Sp: number): void;
  transposeOut(dst: number, src: number, offs: number, n: number, S: number, hd: number, Sp: number): void;
}

let kernel: Exports | null | undefined;

/** The kernel in a memory of its own, or null where WebAssembly SIMD is missing. */
function getKernel(): Exports | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  try {
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(wasmBytes())) return null;
    kernel = instantiateKernel<Exports>(wasmBytes(), new WebAssembly.Memory({ initial: 1 }));
  } catch {
    kernel = null;
  }
  return kernel;
}

/** True where the kernel compiles (WebAssembly with SIMD128). */
export function attentionKernelAvailable(): boolean {
  return getKernel() !== null;
}

/** A bias prepared for the kernel: padded to Sp columns with −1e30, and each row's kEnd. */
export interface PreparedBias {
  /** 1 (shared by all pairs) or n */
  pairs: number;
  R: number;
  S: number;
  Sp: number;
  padded: Float32Array;
  kEnd: Int32Array;
}

const MASKED = -1e8;

/** Pads a bias [pairs, R, S] and finds each row's kEnd. */
export function prepareBias(bias: Float32Array, pairs: number, R: number, S: number): PreparedBias {
  const Sp = Math.ceil(S / 16) * 16;
  const padded = new Float32Array(pairs * R * Sp).fill(-1e30);
  const kEnd = new Int32Array(pairs * R);
  for (let row = 0; row < pairs * R; row++) {
    const src = row * S;
    padded.set(bias.subarray(src, src + S), row * Sp);
    let e = S;
    while (e > 0 && !(bias[src + e - 1] > MASKED)) e--;
    kEnd[row] = e === 0 ? S : e;
  }
  return { pairs, R, S, Sp, padded, kEnd };
}

export interface AttentionShape {
  /** pairs (batch row × KV head) */
  n: number;
  /** query rows per pair (G·T: the G query heads of a KV head stacked) */
  R: number;
  /** keys */
  S: number;
  hd: number;
  scale: number;
  /**
   * Absent: q-like arrays (q, out, dO, dq) are [n, R, hd] and k-like ones (k, v, dk, dv) [n, S, hd].
   * Present: the projections' own layouts, q-like [B, T, H, hd] and k-like [B, S, Hkv, hd], with
   * n = B·Hkv, R = G·T, query head h = kvHead·G + g at row g·T + t (so no transposes are needed).
   */
  heads?: { B: number; T: number; H: number; Hkv: number };
}

/**
 * Byte offsets, in the caller's arrays, of each (pair, row) of the q-like arrays and of each (pair, key)
 * of the k-like ones; the same for every call of one shape, so kept (a few shapes per model).
 */
function offsets(sh: AttentionShape): { qo: Int32Array; ko: Int32Array } {
  const key = `${sh.n},${sh.R},${sh.S},${sh.hd},${sh.heads ? `${sh.heads.T},${sh.heads.H},${sh.heads.Hkv}` : ''}`;
  let o = offsetCache.get(key);
  if (o) return o;
  const { n, R, S, hd } = sh;
  const qo = new Int32Array(n * R);
  const ko = new Int32Array(n * S);
  if (!sh.heads) {
    for (let i = 0; i < n * R; i++) qo[i] = i * hd * 4;
    for (let i = 0; i < n * S; i++) ko[i] = i * hd * 4;
  } else {
    const { T, H, Hkv } = sh.heads;
    const G = H / Hkv;
    for (let p = 0; p < n; p++) {
      const b = Math.floor(p / Hkv);
      const kvh = p % Hkv;
      for (let g = 0; g < G; g++)
        for (let t = 0; t < T; t++) qo[p * R + g * T + t] = ((b * T + t) * H + kvh * G + g) * hd * 4;
      for (let j = 0; j < S; j++) ko[p * S + j] = ((b * S + j) * Hkv + kvh) * hd * 4;
    }
  }
  o = { qo, ko };
  if (offsetCache.size > 64) offsetCache.clear();
  offsetCache.set(key, o);
  return o;
}
const offsetCache = new Map<string, { qo: Int32Array; ko: Int32Array }>();

function need(): Exports {
  const k = getKernel();
  if (!k) throw new Error('the WebAssembly SIMD attention kernel is unavailable');
  return k;
}

export function checkShape(sh: AttentionShape, bias: PreparedBias): void {
  if (sh.hd % 4 !== 0) throw new Error(`attention kernel needs hd % 4 == 0 (hd ${sh.hd})`);
  if (bias.R !== sh.R || bias.S !== sh.S || (bias.pairs !== 1 && bias.pairs !== sh.n))
    throw new Error(
      `attention kernel: bias [${bias.pairs}, ${bias.R}, ${bias.S}] does not fit n ${sh.n}, R ${sh.R}, S ${sh.S}`,
    );
  const h = sh.heads;
  if (h && (h.B * h.Hkv !== sh.n || (h.H / h.Hkv) * h.T !== sh.R || h.H % h.Hkv !== 0))
    throw new Error(`attention kernel: heads ${JSON.stringify(h)} do not fit n ${sh.n}, R ${sh.R}`);
}

/** Byte offsets, in the kernel's memory, of the caller's arrays for one forward call. */
export interface ForwardIO {
  q: number;
  k: number;
  v: number;
  /** q-like output */
  out: number;
  /** [2, n, R]: row max m, then 1/l */
  stats: number;
}

/** Byte offsets of the caller's arrays for one backward call (dq, dk, dv are written whole). */
export interface BackwardIO extends ForwardIO {
  dO: number;
  dq: number;
  dk: number;
  dv: number;
}

/**
 * Scratch for one call: `bytes` → the byte offset of a block that many bytes long in the kernel's
 * memory (which may grow meanwhile), and a function that gives it back.
 */
export type Scratch = (bytes: number) => { at: number; release(): void };

/** Lays out 16-byte-aligned blocks of the given float counts from one base offset. */
function layout(floats: number[]): { offsets: number[]; bytes: number } {
  let top = 0;
  const offsets = floats.map((f) => {
    const at = top;
    top += Math.ceil((f * 4) / 16) * 16;
    return at;
  });
  return { offsets, bytes: top };
}

/**
 * Copies the index tables and the bias into scratch (views taken after the scratch is allocated, since
 * the memory may have grown). Returns the absolute offsets of qo, ko, bias, kEnd.
 */
function stageTables(K: Exports, sh: AttentionShape, bias: PreparedBias, at: number[]): void {
  const { qo, ko } = offsets(sh);
  const mem = new Float32Array(K.mem.buffer);
  const i32 = new Int32Array(K.mem.buffer);
  i32.set(qo, at[0] / 4);
  i32.set(ko, at[1] / 4);
  mem.set(bias.padded, at[2] / 4);
  i32.set(bias.kEnd, at[3] / 4);
}

/** Contiguous ranges [p0, p1) of n pairs, one per thread. */
function ranges(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) out.push([Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)]);
  return out;
}

/**
 * Runs `args(p0, p1, scratch)` for each range of pairs: the first on this thread, the others on the
 * memory's helper threads (threads.ts) when they are ready; waits for all of them.
 */
function inParts(
  K: Exports,
  n: number,
  helpers: ReturnType<typeof readyHelpers>,
  op: 0 | 1,
  scr: number,
  scrBytes: number,
  args: (p0: number, p1: number, scr: number) => number[],
): void {
  const parts = ranges(n, helpers.length + 1);
  const posted: typeof helpers = [];
  try {
    for (let i = 1; i < parts.length; i++) {
      post(helpers[i - 1], op, args(parts[i][0], parts[i][1], scr + i * scrBytes));
      posted.push(helpers[i - 1]);
    }
    const own = args(parts[0][0], parts[0][1], scr);
    if (op === 0) K.forward(...own);
    else K.backward(...own);
  } finally {
    for (const h of posted) join(h);
  }
}

/**
 * Helper threads for a call of n pairs on K's memory: none unless the memory is shared and they have
 * started, and at most n − 1 (every thread gets a pair). The call runs on helpers.length + 1 threads.
 */
function helpersFor(K: Exports, n: number): ReturnType<typeof readyHelpers> {
  if (!threadsOn || !(K.mem.buffer instanceof SharedArrayBuffer)) return [];
  return readyHelpers(K.mem, () => wasmBytes(true)).slice(0, n - 1);
}

let threadsOn = true;
/** Tests: false runs every call on the calling thread (to compare with the threaded runs). */
export function setAttentionThreads(on: boolean): void {
  threadsOn = on;
}

/** The forward over arrays already in the kernel's memory (in place: no copies of q, k, v or out). */
export function forwardInMemory(
  K: Exports,
  sh: AttentionShape,
  bias: PreparedBias,
  io: ForwardIO,
  scratch: Scratch,
): void {
  checkShape(sh, bias);
  const { n, R, S, hd, scale } = sh;
  const Sp = bias.Sp;
  const helpers = helpersFor(K, n);
  const threads = helpers.length + 1;
  const L = layout([
    n * R,
    n * S,
    bias.padded.length,
    bias.kEnd.length,
    n * R * hd,
    n * hd * Sp,
    n * S * hd,
    n * R * hd,
    threads * Sp,
  ]);
  const block = scratch(L.bytes);
  try {
    const at = L.offsets.map((o) => o + block.at);
    const [qoA, koA, bA, keA, qA, kTA, vA, oA, scrA] = at;
    stageTables(K, sh, bias, at);
    if (Sp > S) K.zero(kTA, 4 * n * hd * Sp); // the padding keys (transposeIn writes the first S)
    const hdB = hd * 4;
    K.gatherRows(qA, io.q, qoA, n * R, hdB);
    K.transposeIn(kTA, io.k, koA, n, S, hd, Sp);
    K.gatherRows(vA, io.v, koA, n * S, hdB);
    const lA = io.stats + 4 * n * R;
    const pair = bias.pairs === 1 ? 0 : 1;
    inParts(K, n, helpers, 0, scrA, 4 * Sp, (p0, p1, scr) => [
      p1 - p0,
      R,
      S,
      Sp,
      hd,
      qA + 4 * p0 * R * hd,
      kTA + 4 * p0 * hd * Sp,
      vA + 4 * p0 * S * hd,
      pair ? bA + 4 * p0 * R * Sp : bA,
      pair,
      pair ? keA + 4 * p0 * R : keA,
      oA + 4 * p0 * R * hd,
      io.stats + 4 * p0 * R,
      lA + 4 * p0 * R,
      scale,
      scr,
    ]);
    K.scatterRows(io.out, oA, qoA, n * R, hdB);
    K.reciprocal(lA, n * R);
  } finally {
    block.release();
  }
}

/** The backward over arrays already in the kernel's memory (dq, dk, dv written in the callers' layouts). */
export function backwardInMemory(
  K: Exports,
  sh: AttentionShape,
  bias: PreparedBias,
  io: BackwardIO,
  scratch: Scratch,
): void {
  checkShape(sh, bias);
  const { n, R, S, hd, scale } = sh;
  const Sp = bias.Sp;
  const helpers = helpersFor(K, n);
  const threads = helpers.length + 1;
  const qLike = n * R * hd;
  const L = layout([
    n * R,
    n * S,
    bias.padded.length,
    bias.kEnd.length,
    qLike, // q
    n * S * hd, // k
    2 * n * hd * Sp, // kT, vT (adjacent)
    qLike, // dO
    qLike, // out
    qLike, // dq
    2 * n * hd * Sp, // dkT, dvT (adjacent)
    threads * Sp, // one scratch row per thread
  ]);
  const block = scratch(L.bytes);
  try {
    const at = L.offsets.map((o) => o + block.at);
    const [qoA, koA, bA, keA, qA, kA, kTA, gA, oA, dqA, dkTA, scrA] = at;
    const vTA = kTA + 4 * n * hd * Sp;
    const dvTA = dkTA + 4 * n * hd * Sp;
    stageTables(K, sh, bias, at);
    if (Sp > S) K.zero(kTA, 8 * n * hd * Sp); // kT and vT padding
    K.zero(dkTA, 8 * n * hd * Sp); // dkT and dvT accumulate
    const hdB = hd * 4;
    K.gatherRows(qA, io.q, qoA, n * R, hdB);
    K.gatherRows(kA, io.k, koA, n * S, hdB);
    K.transposeIn(kTA, io.k, koA, n, S, hd, Sp);
    K.transposeIn(vTA, io.v, koA, n, S, hd, Sp);
    K.gatherRows(gA, io.dO, qoA, n * R, hdB);
    K.gatherRows(oA, io.out, qoA, n * R, hdB);
    const pair = bias.pairs === 1 ? 0 : 1;
    const lInv = io.stats + 4 * n * R;
    const qRow = (p0: number) => 4 * p0 * R * hd;
    const tRow = (p0: number) => 4 * p0 * hd * Sp;
    inParts(K, n, helpers, 1, scrA, 4 * Sp, (p0, p1, scr) => [
      p1 - p0,
      R,
      S,
      Sp,
      hd,
      qA + qRow(p0),
      kA + 4 * p0 * S * hd,
      kTA + tRow(p0),
      vTA + tRow(p0),
      pair ? bA + 4 * p0 * R * Sp : bA,
      pair,
      pair ? keA + 4 * p0 * R : keA,
      gA + qRow(p0),
      oA + qRow(p0),
      io.stats + 4 * p0 * R,
      lInv + 4 * p0 * R,
      dqA + qRow(p0),
      dkTA + tRow(p0),
      dvTA + tRow(p0),
      scale,
      scr,
    ]);
    K.scatterRows(io.dq, dqA, qoA, n * R, hdB);
    K.transposeOut(io.dk, dkTA, koA, n, S, hd, Sp);
    K.transposeOut(io.dv, dvTA, koA, n, S, hd, Sp);
  } finally {
    block.release();
  }
}

/** Scratch at the top of the standalone kernel's own memory, after `base` bytes the caller uses. */
function ownScratch(K: Exports, base: number): Scratch {
  return (bytes) => {
    const need = base + bytes;
    const have = K.mem.buffer.byteLength;
    if (need > have) K.mem.grow(Math.ceil((need - have) / 65536));
    return { at: base, release: () => undefined };
  };
}

/** Copies arrays into the standalone kernel's memory at 16-byte-aligned offsets; returns them and the end. */
function copyIn(K: Exports, arrays: (Float32Array | number)[]): { at: number[]; end: number } {
  const L = layout(arrays.map((a) => (typeof a === 'number' ? a : a.length)));
  const have = K.mem.buffer.byteLength;
  if (L.bytes > have) K.mem.grow(Math.ceil((L.bytes - have) / 65536));
  const mem = new Float32Array(K.mem.buffer);
  arrays.forEach((a, i) => {
    if (typeof a !== 'number') mem.set(a, L.offsets[i] / 4);
  });
  return { at: L.offsets, end: L.bytes };
}

function copyOut(K: Exports, at: number, floats: number): Float32Array {
  return new Float32Array(K.mem.buffer).slice(at / 4, at / 4 + floats);
}

/**
 * Forward over plain arrays (any backend): q, k, v (layouts in AttentionShape) → out (q-like) and the
 * row statistics stats [2, n, R] (m, then 1/l), through the kernel's own memory.
 */
export function attentionForward(
  sh: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bias: PreparedBias,
): { out: Float32Array; stats: Float32Array } {
  const K = need();
  const { n, R } = sh;
  const c = copyIn(K, [q, k, v, 2 * n * R]);
  const [qA, kA, vA, stA] = c.at;
  forwardInMemory(K, sh, bias, { q: qA, k: kA, v: vA, out: qA, stats: stA }, ownScratch(K, c.end));
  return { out: copyOut(K, qA, q.length), stats: copyOut(K, stA, 2 * n * R) };
}

/** Backward over plain arrays: the forward's inputs, its out and stats, and dO (q-like) → dq, dk, dv. */
export function attentionBackward(
  sh: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bias: PreparedBias,
  out: Float32Array,
  stats: Float32Array,
  dO: Float32Array,
): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const K = need();
  const c = copyIn(K, [q, k, v, out, stats, dO]);
  const [qA, kA, vA, oA, stA, gA] = c.at;
  const io = { q: qA, k: kA, v: vA, out: oA, stats: stA, dO: gA, dq: qA, dk: kA, dv: vA };
  backwardInMemory(K, sh, bias, io, ownScratch(K, c.end));
  return { dq: copyOut(K, qA, q.length), dk: copyOut(K, kA, k.length), dv: copyOut(K, vA, v.length) };
}

/** e^x by the kernel's SIMD exp (tests): a copy of x with each value replaced. */
export function kernelExp(x: Float32Array): Float32Array {
  const K = need();
  const len = Math.ceil(x.length / 4) * 4;
  const padded = new Float32Array(len);
  padded.set(x);
  const at = copyIn(K, [padded]).at[0];
  K.expArray(at, len);
  return copyOut(K, at, x.length);
}
