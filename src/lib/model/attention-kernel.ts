/**
 * The fused attention kernel (kernels/attention.wat, WebAssembly SIMD128) over plain Float32Arrays:
 * inputs are copied into the kernel's own memory, outputs copied out. The copies and the transposes
 * of k and v ([S, hd] → [hd, S], so that scores run 16 keys per SIMD step) cost O(n·S·hd), small
 * beside the O(n·R·S·hd) products.
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
import { wasmBytes } from './kernels/attention-wasm';

interface Exports {
  mem: WebAssembly.Memory;
  expArray(ptr: number, len: number): void;
  forward(...args: number[]): void;
  backward(...args: number[]): void;
  gatherRows(dst: number, src: number, offs: number, count: number, hdB: number): void;
  scatterRows(dst: number, src: number, offs: number, count: number, hdB: number): void;
  transposeIn(dst: number, src: number, offs: number, n: number, S: number, hd: number, Sp: number): void;
  transposeOut(dst: number, src: number, offs: number, n: number, S: number, hd: number, Sp: number): void;
}

let kernel: Exports | null | undefined;

/** The instantiated kernel, or null where WebAssembly SIMD is missing. */
function getKernel(): Exports | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  try {
    if (typeof WebAssembly === 'undefined') return null;
    const bytes = wasmBytes();
    if (!WebAssembly.validate(bytes)) return null;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    kernel = inst.exports as unknown as Exports;
  } catch {
    kernel = null;
  }
  return kernel;
}

/** True where the kernel compiles (WebAssembly with SIMD128). */
export function attentionKernelAvailable(): boolean {
  return getKernel() !== null;
}

/** Byte-offset allocator over the kernel's memory for one call (16-byte aligned, grows the memory). */
class Arena {
  private top = 0;
  constructor(private k: Exports) {}
  alloc(floats: number): number {
    const at = this.top;
    this.top += Math.ceil((floats * 4) / 16) * 16;
    return at;
  }
  /** Grows the memory to hold everything allocated; returns a fresh f32 view. */
  commit(): Float32Array {
    const have = this.k.mem.buffer.byteLength;
    if (this.top > have) this.k.mem.grow(Math.ceil((this.top - have) / 65536));
    return new Float32Array(this.k.mem.buffer);
  }
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

function checkShape(sh: AttentionShape, bias: PreparedBias): void {
  if (sh.hd % 4 !== 0) throw new Error(`attention kernel needs hd % 4 == 0 (hd ${sh.hd})`);
  if (bias.R !== sh.R || bias.S !== sh.S || (bias.pairs !== 1 && bias.pairs !== sh.n))
    throw new Error(
      `attention kernel: bias [${bias.pairs}, ${bias.R}, ${bias.S}] does not fit n ${sh.n}, R ${sh.R}, S ${sh.S}`,
    );
  const h = sh.heads;
  if (h && (h.B * h.Hkv !== sh.n || (h.H / h.Hkv) * h.T !== sh.R || h.H % h.Hkv !== 0))
    throw new Error(`attention kernel: heads ${JSON.stringify(h)} do not fit n ${sh.n}, R ${sh.R}`);
}

/**
 * Forward: q, k, v (layouts in AttentionShape) → out (q-like) and the row statistics stats [2, n, R]
 * (m, then 1/l). The caller's arrays are copied in as they are; the kernel's own layout moves
 * (gatherRows, transposeIn) put them in order.
 */
export function attentionForward(
  sh: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bias: PreparedBias,
): { out: Float32Array; stats: Float32Array } {
  checkShape(sh, bias);
  const K = need();
  const { n, R, S, hd, scale } = sh;
  const Sp = bias.Sp;
  const hdB = hd * 4;
  const { qo, ko } = offsets(sh);
  const a = new Arena(K);
  const rawQ = a.alloc(n * R * hd); // the caller's q, later its out
  const rawK = a.alloc(n * S * hd);
  const rawV = a.alloc(n * S * hd);
  const qoA = a.alloc(n * R);
  const koA = a.alloc(n * S);
  const qA = a.alloc(n * R * hd);
  const kTA = a.alloc(n * hd * Sp);
  const vA = a.alloc(n * S * hd);
  const bA = a.alloc(bias.padded.length);
  const keA = a.alloc(bias.kEnd.length);
  const oA = a.alloc(n * R * hd);
  const mA = a.alloc(2 * n * R); // m, then l
  const lA = mA + 4 * n * R;
  const scrA = a.alloc(Sp);
  const mem = a.commit();
  const i32 = new Int32Array(mem.buffer);
  mem.set(q, rawQ / 4);
  mem.set(k, rawK / 4);
  mem.set(v, rawV / 4);
  i32.set(qo, qoA / 4);
  i32.set(ko, koA / 4);
  mem.set(bias.padded, bA / 4);
  i32.set(bias.kEnd, keA / 4);
  mem.fill(0, kTA / 4, kTA / 4 + n * hd * Sp);
  K.gatherRows(qA, rawQ, qoA, n * R, hdB);
  K.transposeIn(kTA, rawK, koA, n, S, hd, Sp);
  K.gatherRows(vA, rawV, koA, n * S, hdB);
  K.forward(n, R, S, Sp, hd, qA, kTA, vA, bA, bias.pairs === 1 ? 0 : 1, keA, oA, mA, lA, scale, scrA);
  K.scatterRows(rawQ, oA, qoA, n * R, hdB);
  const out = mem.slice(rawQ / 4, rawQ / 4 + n * R * hd);
  const stats = mem.slice(mA / 4, mA / 4 + 2 * n * R);
  for (let i = n * R; i < 2 * n * R; i++) stats[i] = 1 / stats[i];
  return { out, stats };
}

/** Backward: the forward's inputs, its out and stats, and dO (q-like) → dq (q-like), dk, dv (k-like). */
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
  checkShape(sh, bias);
  const K = need();
  const { n, R, S, hd, scale } = sh;
  const Sp = bias.Sp;
  const hdB = hd * 4;
  const { qo, ko } = offsets(sh);
  const a = new Arena(K);
  const rawQ = a.alloc(n * R * hd); // later dq
  const rawK = a.alloc(n * S * hd); // later dk
  const rawV = a.alloc(n * S * hd); // later dv
  const rawG = a.alloc(n * R * hd);
  const rawO = a.alloc(n * R * hd);
  const qoA = a.alloc(n * R);
  const koA = a.alloc(n * S);
  const qA = a.alloc(n * R * hd);
  const kA = a.alloc(n * S * hd);
  const kTA = a.alloc(n * hd * Sp);
  const vTA = a.alloc(n * hd * Sp);
  const bA = a.alloc(bias.padded.length);
  const keA = a.alloc(bias.kEnd.length);
  const gA = a.alloc(n * R * hd);
  const oA = a.alloc(n * R * hd);
  const stA = a.alloc(2 * n * R);
  const dqA = a.alloc(n * R * hd);
  const dkTA = a.alloc(n * hd * Sp);
  const dvTA = a.alloc(n * hd * Sp);
  const scrA = a.alloc(Sp);
  const mem = a.commit();
  const i32 = new Int32Array(mem.buffer);
  mem.set(q, rawQ / 4);
  mem.set(k, rawK / 4);
  mem.set(v, rawV / 4);
  mem.set(dO, rawG / 4);
  mem.set(out, rawO / 4);
  i32.set(qo, qoA / 4);
  i32.set(ko, koA / 4);
  mem.set(bias.padded, bA / 4);
  i32.set(bias.kEnd, keA / 4);
  mem.set(stats, stA / 4);
  mem.fill(0, kTA / 4, kTA / 4 + 2 * n * hd * Sp); // kT and vT padding (adjacent)
  mem.fill(0, dkTA / 4, dkTA / 4 + 2 * n * hd * Sp); // dkT and dvT accumulate (adjacent)
  K.gatherRows(qA, rawQ, qoA, n * R, hdB);
  K.gatherRows(kA, rawK, koA, n * S, hdB);
  K.transposeIn(kTA, rawK, koA, n, S, hd, Sp);
  K.transposeIn(vTA, rawV, koA, n, S, hd, Sp);
  K.gatherRows(gA, rawG, qoA, n * R, hdB);
  K.gatherRows(oA, rawO, qoA, n * R, hdB);
  K.backward(
    n,
    R,
    S,
    Sp,
    hd,
    qA,
    kA,
    kTA,
    vTA,
    bA,
    bias.pairs === 1 ? 0 : 1,
    keA,
    gA,
    oA,
    stA,
    stA + 4 * n * R,
    dqA,
    dkTA,
    dvTA,
    scale,
    scrA,
  );
  K.scatterRows(rawQ, dqA, qoA, n * R, hdB);
  K.transposeOut(rawK, dkTA, koA, n, S, hd, Sp);
  K.transposeOut(rawV, dvTA, koA, n, S, hd, Sp);
  return {
    dq: mem.slice(rawQ / 4, rawQ / 4 + n * R * hd),
    dk: mem.slice(rawK / 4, rawK / 4 + n * S * hd),
    dv: mem.slice(rawV / 4, rawV / 4 + n * S * hd),
  };
}

/** e^x by the kernel's SIMD exp (tests): a copy of x with each value replaced. */
export function kernelExp(x: Float32Array): Float32Array {
  const K = need();
  const len = Math.ceil(x.length / 4) * 4;
  const a = new Arena(K);
  const at = a.alloc(len);
  const mem = a.commit();
  mem.fill(0, at / 4, at / 4 + len);
  mem.set(x, at / 4);
  K.expArray(at, len);
  return mem.slice(at / 4, at / 4 + x.length);
}
