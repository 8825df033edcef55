/**
 * Packing a frozen matrix (src/lib/model/kernels/packed-matmul/pack.ts): int8 with per-row absmax/127
 * scales and f16, each unpacked within its rounding bound; the half-float conversion against exact cases.
 */
import { describe, expect, it } from 'vitest';
import {
  fromHalfBits,
  packMatrix,
  packedBytes,
  toHalfBits,
  unpackMatrix,
} from '../../../../src/lib/model/kernels/packed-matmul/pack';

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  let s = seed;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    // rows of very different magnitudes: per-row scales matter
    out[i] = ((s / 2 ** 31) * 2 - 1) * 10 ** (((i / cols) % 4) | 0) * 0.01;
  }
  return out;
}

describe('int8 packing', () => {
  it('round trip within half a step of each row (absmax/127 / 2), row maxima exact', () => {
    const [rows, cols] = [9, 37];
    const w = randomMatrix(rows, cols, 3);
    w[5 * cols + 2] = 0; // a zero stays zero
    for (let c = 0; c < cols; c++) w[7 * cols + c] = 0; // an all-zero row
    const p = packMatrix(w, rows, cols, 'int8');
    expect(p.bytes.byteLength).toBe(Math.ceil((rows * cols) / 4) * 4);
    expect(packedBytes(p)).toBe(p.bytes.byteLength + 4 * rows);
    const back = unpackMatrix(p);
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(w[r * cols + c]));
      expect(p.scales![r]).toBe(Math.fround(max / 127));
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual((max / 127) * 0.5 * (1 + 1e-6));
        if (Math.abs(w[i]) === max) expect(back[i]).toBeCloseTo(w[i], 6);
      }
    }
    expect(back[5 * cols + 2]).toBe(0);
    expect(back.slice(7 * cols, 8 * cols).every((v) => v === 0)).toBe(true);
  });
});

describe('f16 packing', () => {
  it('exact halves stay exact; others within half an ulp (2^-11 relative); clamped to ±65504', () => {
    for (const v of [0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24, 1 + 2 ** -10]) {
      expect(fromHalfBits(toHalfBits(v))).toBe(v);
    }
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(fromHalfBits(toHalfBits(1e6))).toBe(65504);
    expect(fromHalfBits(toHalfBits(-1e6))).toBe(-65504);
    expect(fromHalfBits(toHalfBits(2 ** -26))).toBe(0);
    // ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10
    expect(fromHalfBits(toHalfBits(1 + 2 ** -11))).toBe(1);
    expect(fromHalfBits(toHalfBits(1 + 3 * 2 ** -11))).toBe(1 + 2 * 2 ** -10);
    const [rows, cols] = [5, 23];
    const w = randomMatrix(rows, cols, 11);
    const p = packMatrix(w, rows, cols, 'f16');
    expect(p.scales).toBeNull();
    expect(p.bytes.byteLength).toBe(Math.ceil((2 * rows * cols) / 4) * 4);
    const back = unpackMatrix(p);
    for (let i = 0; i < w.length; i++) {
      const bound = Math.abs(w[i]) >= 2 ** -14 ? Math.abs(w[i]) * 2 ** -11 : 2 ** -25;
      expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(bound);
    }
  });
});
