/**
 * The packed-matmul kernel on helper threads (productInMemory in src/lib/model/kernels/packed-matmul/wasm-op.ts,
 * the helpers of attention/threads.ts) on a shared memory: forward and backward with their rows of x / dy
 * split between the calling thread and a helper give the single-thread results bit for bit, with a row
 * count that is not a multiple of four, and the helper really ran jobs.
 */
import { describe, expect, it } from 'vitest';
import { wasmBytes } from '../../../../src/lib/model/kernels/packed-matmul/packed-matmul-wasm';
import { packMatrix } from '../../../../src/lib/model/kernels/packed-matmul/pack';
import {
  productInMemory,
  setPackedMatMulThreads,
  type PackedMatMulExports,
} from '../../../../src/lib/model/kernels/packed-matmul/wasm-op';
import { helperJobs, readyHelpers, setAttentionHelpers } from '../../../../src/lib/model/kernels/attention/threads';
import { moduleOnHeap, type WasmHeap } from '../../../../src/lib/model/kernels/wasm-heap';

function rand(seed: number, n: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

describe('packed-matmul kernel on helper threads', () => {
  it.each(['int8', 'f16'] as const)('%s: the single-thread values bit for bit', async (fmt) => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const heap = { memory, shared: true } as WasmHeap;
    const key = 'packed-matmul-plain';
    const K = moduleOnHeap<PackedMatMulExports>(heap, key, wasmBytes)!;
    expect(K).not.toBeNull();
    setAttentionHelpers(1);
    // enough multiply-adds to be split (M·N·K ≥ 2^20); M = 66: parts of 32 and 34 rows
    const [M, N, cols] = [66, 131, 125];
    const p = packMatrix(rand(1, N * cols), N, cols, fmt);
    let top = 1024;
    const place = (bytes: number) => {
      const at = top;
      top += Math.ceil(bytes / 16) * 16 + 16;
      return at;
    };
    const at = {
      x: place(4 * M * cols),
      dy: place(4 * M * N),
      w: place(p.bytes.byteLength),
      scales: place(4 * N),
      y: place(4 * M * N),
      dx: place(4 * M * cols),
    };
    const scratchAt = top;
    const f32 = () => new Float32Array(memory.buffer);
    f32().set(rand(2, M * cols), at.x / 4);
    f32().set(rand(3, M * N), at.dy / 4);
    new Uint8Array(memory.buffer).set(p.bytes, at.w);
    if (p.scales) f32().set(p.scales, at.scales / 4);
    const alloc = () => ({ at: scratchAt, release: () => undefined });
    const f = fmt === 'f16' ? 1 : 0;
    const run = () => {
      productInMemory(
        K,
        'plain',
        'forward',
        { fmt: f, a: at.x, w: at.w, scales: at.scales, out: at.y, M, N, K: cols },
        alloc,
      );
      productInMemory(
        K,
        'plain',
        'backward',
        { fmt: f, a: at.dy, w: at.w, scales: at.scales, out: at.dx, M, N, K: cols },
        alloc,
      );
      return [f32().slice(at.y / 4, at.y / 4 + M * N), f32().slice(at.dx / 4, at.dx / 4 + M * cols)];
    };
    setPackedMatMulThreads(false);
    const single = run();
    setPackedMatMulThreads(true);
    // the helper starts asynchronously; calls before that run on this thread alone
    for (let i = 0; i < 200 && readyHelpers(memory, () => wasmBytes(true), key).length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(readyHelpers(memory, () => wasmBytes(true), key).length).toBe(1);
    f32().fill(NaN, at.y / 4, at.y / 4 + M * N);
    f32().fill(NaN, at.dx / 4, at.dx / 4 + M * cols);
    const before = helperJobs(memory, key);
    const threaded = run();
    expect(helperJobs(memory, key) - before).toBe(2); // one forward and one backward job
    single.forEach((vals, i) => {
      expect(vals.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      expect(Array.from(threaded[i])).toEqual(Array.from(vals));
    });
  });
});
