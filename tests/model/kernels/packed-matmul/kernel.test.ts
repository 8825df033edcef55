/**
 * The packed-matmul WebAssembly module (src/lib/model/kernels/packed-matmul/packed-matmul.wat), both of
 * its builds (relaxed-SIMD fused multiply-add, and the plain-SIMD rewrite), instantiated on a memory of
 * its own: forward y = x·Wᵀ and backward dx = dy·W from an int8 or f16 packed W, against the same
 * products computed in f64 from the dequantised matrix (unpackMatrix), on shapes with every tail of both
 * paths (SHAPES). Node 20 validates relaxed SIMD only behind
 * --experimental-wasm-relaxed-simd: this file turns the flag on in its own process (v8.setFlagsFromString)
 * before any module is compiled. Also: the generated module matches a fresh build of the .wat.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { relaxedWasmBytes, wasmBytes } from '../../../../src/lib/model/kernels/packed-matmul/packed-matmul-wasm';
import { hasRelaxedSimd, type PackedMatMulExports } from '../../../../src/lib/model/kernels/packed-matmul/wasm-op';
import { packMatrix, unpackMatrix, type PackedFormat } from '../../../../src/lib/model/kernels/packed-matmul/pack';
import { instantiateKernel } from '../../../../src/lib/model/kernels/wasm-heap';
import { buildKernel, KERNEL_DIR, withoutRelaxedMadd } from '../../../../scripts/build-kernels';

const relaxedBefore = hasRelaxedSimd();
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = ((s / 2 ** 31) * 2 - 1) * scale;
  }
  return out;
}

/** Runs the module on its own memory: forward and backward for one packed W. */
function runModule(
  K: PackedMatMulExports,
  fmt: PackedFormat,
  x: Float32Array,
  dy: Float32Array,
  w: Float32Array,
  M: number,
  N: number,
  cols: number,
) {
  const p = packMatrix(w, N, cols, fmt);
  const mem = K.mem;
  const need = 4 * (M * cols * 2 + M * N * 2 + N) + K.scratchBytes(cols) + p.bytes.byteLength + 4096;
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  let at = 16;
  const place = (bytes: number) => {
    const a = at;
    at += Math.ceil(bytes / 16) * 16 + 16;
    return a;
  };
  const xAt = place(4 * x.length);
  const dyAt = place(4 * dy.length);
  const wAt = place(p.bytes.byteLength);
  const sAt = place(4 * N);
  const yAt = place(4 * M * N);
  const dxAt = place(4 * M * cols);
  const scratch = place(K.scratchBytes(cols));
  new Float32Array(mem.buffer, xAt, x.length).set(x);
  new Float32Array(mem.buffer, dyAt, dy.length).set(dy);
  new Uint8Array(mem.buffer, wAt, p.bytes.byteLength).set(p.bytes);
  if (p.scales) new Float32Array(mem.buffer, sAt, N).set(p.scales);
  // poison the outputs: each must be written whole
  new Float32Array(mem.buffer, yAt, M * N).fill(NaN);
  new Float32Array(mem.buffer, dxAt, M * cols).fill(NaN);
  const f = fmt === 'f16' ? 1 : 0;
  K.forward(f, xAt, wAt, sAt, yAt, scratch, M, N, cols);
  K.backward(f, dyAt, wAt, sAt, dxAt, scratch, M, N, cols);
  return {
    y: new Float32Array(mem.buffer, yAt, M * N).slice(),
    dx: new Float32Array(mem.buffer, dxAt, M * cols).slice(),
    wq: unpackMatrix(p),
  };
}

/** max |a − b| / max |b| */
function relDiff(a: Float32Array, b: Float64Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/**
 * [M, N, K]. M < 4 takes the row-at-a-time path; M ≥ 4 the blocked one, whose tails are M % 4 (rows one at a
 * time), N % 8 (forward) and K % 8 (backward) (a last block of fewer than eight columns), and blocks of 256
 * values of K (forward) or rows of N (backward) after the first, which add to the output.
 */
const SHAPES = [
  [1, 16, 16],
  [1, 7, 5],
  [3, 13, 37],
  [3, 1, 2],
  [4, 8, 8],
  [4, 1, 1],
  [5, 13, 37],
  [17, 10, 9],
  [17, 33, 64],
  [8, 21, 300],
  [6, 300, 9],
  [7, 513, 520],
] as const;

describe.each(['relaxed', 'plain'] as const)('packed-matmul module, %s SIMD', (simd) => {
  const bytes = simd === 'relaxed' ? relaxedWasmBytes() : wasmBytes();
  it.each(['int8', 'f16'] as const)('%s: y = x·Wᵀ and dx = dy·W equal the dequantised product', (fmt) => {
    expect(WebAssembly.validate(bytes)).toBe(true);
    const K = instantiateKernel<PackedMatMulExports>(bytes, new WebAssembly.Memory({ initial: 1 }));
    for (const [M, N, cols] of SHAPES) {
      const x = random(M * cols, 1 + M);
      const dy = random(M * N, 2 + N);
      const w = random(N * cols, 3 + cols, 0.2);
      const { y, dx, wq } = runModule(K, fmt, x, dy, w, M, N, cols);
      const yRef = new Float64Array(M * N);
      const dxRef = new Float64Array(M * cols);
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++)
          for (let k = 0; k < cols; k++) {
            yRef[m * N + n] += x[m * cols + k] * wq[n * cols + k];
            dxRef[m * cols + k] += dy[m * N + n] * wq[n * cols + k];
          }
      expect(relDiff(y, yRef), `y [${M}, ${N}, ${cols}]`).toBeLessThan(1e-6);
      expect(relDiff(dx, dxRef), `dx [${M}, ${N}, ${cols}]`).toBeLessThan(1e-6);
      // and the packed W is close to W (the product differs from the f32 one by the packing only)
      expect(relDiff(wq, Float64Array.from(w))).toBeLessThan(fmt === 'int8' ? 1 / 127 : 1e-3);
    }
  });
});

describe('relaxed SIMD detection and builds', () => {
  it('the probe follows the engine flag; the plain build has no relaxed instruction', async () => {
    expect(relaxedBefore).toBe(process.execArgv.includes('--experimental-wasm-relaxed-simd'));
    expect(hasRelaxedSimd()).toBe(true);
    const src = readFileSync(resolve(KERNEL_DIR, 'packed-matmul/packed-matmul.wat'), 'utf8');
    expect(src).toContain('f32x4.relaxed_madd');
    const plain = withoutRelaxedMadd(src);
    expect(plain).not.toMatch(/\(f32x4\.relaxed/);
    expect(plain).toContain('(f32x4.add (f32x4.mul (local.get $a0)');
    // the relaxed build differs (its fused multiply-adds), the plain one is smaller by none of them
    expect(Buffer.from(relaxedWasmBytes()).equals(Buffer.from(wasmBytes()))).toBe(false);
  });

  it('the generated module matches a fresh build of packed-matmul.wat', async () => {
    const src = readFileSync(resolve(KERNEL_DIR, 'packed-matmul/packed-matmul.wat'), 'utf8');
    expect(readFileSync(resolve(KERNEL_DIR, 'packed-matmul/packed-matmul-wasm.ts'), 'utf8')).toBe(
      await buildKernel('packed-matmul.wat', src, true),
    );
  });
});
