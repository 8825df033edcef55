/**
 * A frozen matrix W [rows, cols] (rows = outputs, as in x·Wᵀ) packed for the packed-matmul kernel:
 *  - 'int8': symmetric per-row quantisation, q = round(W / s) in [−127, 127] with s = max|W[row]| / 127,
 *    one f32 scale per row (a quarter of the f32 bytes, plus 4 bytes a row);
 *  - 'f16': each value as an IEEE half float, rounded to nearest even, clamped to ±65504 (half the bytes).
 * `bytes` holds the rows one after another (cols bytes a row for int8, 2·cols for f16), padded with zeros
 * to a multiple of 4 bytes so the whole can live in an int32 tensor on the wasm heap.
 */
export type PackedFormat = 'int8' | 'f16';

export interface PackedMatrix {
  format: PackedFormat;
  rows: number;
  cols: number;
  bytes: Uint8Array;
  /** int8: one scale per row; f16: null */
  scales: Float32Array | null;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The half-float bits of v (round to nearest even; beyond the largest half, ±65504; NaN → 0). */
export function toHalfBits(v: number): number {
  if (Number.isNaN(v)) return 0;
  f32[0] = v;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7bff;
  if (e <= 0) {
    // subnormal half (or zero): the mantissa with its implicit 1, shifted down, rounded to nearest even
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  if ((h & 0x7fff) >= 0x7c00) return sign | 0x7bff;
  return sign | h;
}

/** The value of half-float bits (finite halves: packing writes no others). */
export function fromHalfBits(h: number): number {
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  const mag = exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15);
  return h & 0x8000 ? -mag : mag;
}

const padded = (n: number) => Math.ceil(n / 4) * 4;

/** Pack W (row-major [rows, cols] floats). */
export function packMatrix(w: Float32Array, rows: number, cols: number, format: PackedFormat): PackedMatrix {
  if (w.length !== rows * cols) throw new Error(`packMatrix: ${w.length} values for [${rows}, ${cols}]`);
  if (format === 'f16') {
    const bytes = new Uint8Array(padded(2 * rows * cols));
    const h = new Uint16Array(bytes.buffer, 0, rows * cols);
    for (let i = 0; i < h.length; i++) h[i] = toHalfBits(w[i]);
    return { format, rows, cols, bytes, scales: null };
  }
  const bytes = new Uint8Array(padded(rows * cols));
  const q = new Int8Array(bytes.buffer);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(w[r * cols + c]));
    const scale = Math.fround(max / 127);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = 0; c < cols; c++) {
      const v = Math.round(w[r * cols + c] / scale);
      q[r * cols + c] = Math.max(-127, Math.min(127, v));
    }
  }
  return { format, rows, cols, bytes, scales };
}

/** The f32 matrix a packed one stands for (row-major [rows, cols]): what every product with it uses. */
export function unpackMatrix(p: PackedMatrix): Float32Array {
  const n = p.rows * p.cols;
  const out = new Float32Array(n);
  if (p.format === 'f16') {
    const h = new Uint16Array(p.bytes.buffer, p.bytes.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = fromHalfBits(h[i]);
    return out;
  }
  const q = new Int8Array(p.bytes.buffer, p.bytes.byteOffset, n);
  const scales = p.scales!;
  for (let r = 0; r < p.rows; r++) {
    const s = scales[r];
    for (let c = 0; c < p.cols; c++) out[r * p.cols + c] = q[r * p.cols + c] * s;
  }
  return out;
}

/** Bytes a packed matrix holds (data and scales). */
export function packedBytes(p: PackedMatrix): number {
  return p.bytes.byteLength + (p.scales?.byteLength ?? 0);
}
