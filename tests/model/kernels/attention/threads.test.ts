/**
 * The attention kernel's helper threads (src/lib/model/kernels/attention/threads.ts) on a shared memory: the
 * forward and backward split over the calling thread and a helper give the single-thread results bit for
 * bit (every pair runs the same code), with a shared causal bias and a per-pair padding bias, and the
 * helper really ran jobs.
 */
import { describe, expect, it } from 'vitest';
import {
  backwardInMemory,
  forwardInMemory,
  prepareBias,
  setAttentionThreads,
  type AttentionShape,
  type Exports,
  type Scratch,
} from '../../../../src/lib/model/kernels/attention/kernel';
import {
  attentionHelperJobs,
  readyHelpers,
  setAttentionHelpers,
} from '../../../../src/lib/model/kernels/attention/threads';
import { wasmBytes } from '../../../../src/lib/model/kernels/attention/attention-wasm';
import { moduleOnHeap, type WasmHeap } from '../../../../src/lib/model/kernels/wasm-heap';

function rand(seed: number, n: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 3 - 1.5;
  });
}

/** Bias [pairs, R, S]: causal (query t sees keys ≤ t), with the first pad[p] keys of pair p masked. */
function bias(pairs: number, T: number, pad: number[] | null): Float32Array {
  const b = new Float32Array(pairs * T * T);
  for (let p = 0; p < pairs; p++)
    for (let t = 0; t < T; t++)
      for (let s = 0; s < T; s++) if (s > t || (pad && s < pad[p])) b[(p * T + t) * T + s] = -1e9;
  return b;
}

describe('attention kernel on helper threads', () => {
  it.each([
    ['shared causal bias, 7 pairs, hd 8', 7, 24, 8, null],
    ['per-pair padding, 4 pairs, hd 32', 4, 19, 32, [0, 5, 19, 2]],
  ] as const)(
    'gives the single-thread values and grads bit for bit (%s)',
    async (_, n, T, hd, pad) => {
      const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
      const heap = { memory, shared: true } as WasmHeap;
      const K = moduleOnHeap<Exports>(heap, 'attention', wasmBytes)!;
      expect(K).not.toBeNull();
      setAttentionHelpers(1);
      const sh: AttentionShape = { n, R: T, S: T, hd, scale: 1 / Math.sqrt(hd) };
      const pb = prepareBias(bias(pad ? n : 1, T, pad ? [...pad] : null), pad ? n : 1, T, T);
      const size = n * T * hd;
      // arrays at fixed offsets, scratch above them
      const at = (i: number) => 4096 + i * size * 4;
      const names = ['q', 'k', 'v', 'out', 'stats', 'dO', 'dq', 'dk', 'dv'];
      const io = Object.fromEntries(names.map((k, i) => [k, at(i)])) as Record<string, number>;
      const f32 = () => new Float32Array(memory.buffer);
      f32().set(rand(1, size), io.q / 4);
      f32().set(rand(2, size), io.k / 4);
      f32().set(rand(3, size), io.v / 4);
      f32().set(rand(4, size), io.dO / 4);
      const scratch: Scratch = () => ({ at: at(names.length), release: () => undefined });
      const run = () => {
        forwardInMemory(K, sh, pb, { q: io.q, k: io.k, v: io.v, out: io.out, stats: io.stats }, scratch);
        backwardInMemory(
          K,
          sh,
          pb,
          { q: io.q, k: io.k, v: io.v, out: io.out, stats: io.stats, dO: io.dO, dq: io.dq, dk: io.dk, dv: io.dv },
          scratch,
        );
        return ['out', 'stats', 'dq', 'dk', 'dv'].map((k) =>
          Array.from(f32().slice(io[k] / 4, io[k] / 4 + (k === 'stats' ? 2 * n * T : size))),
        );
      };
      setAttentionThreads(false);
      const single = run();
      setAttentionThreads(true);
      // the helper starts asynchronously; calls before that run on this thread alone
      for (let i = 0; i < 200 && readyHelpers(memory, () => wasmBytes(true)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(readyHelpers(memory, () => wasmBytes(true)).length).toBe(1);
      const before = attentionHelperJobs(memory);
      const threaded = run();
      expect(attentionHelperJobs(memory) - before).toBe(2); // one forward and one backward job
      single.forEach((vals, i) => {
        expect(vals.some((x) => Math.abs(x) > 1e-3)).toBe(true);
        expect(threaded[i]).toEqual(vals);
      });
      // many short jobs back to back: the hand-off between the threads must never lose a wake-up (a
      // lost one blocks this thread for good and the test times out)
      const tiny: AttentionShape = { n: 2, R: 1, S: T, hd, scale: 0.5 };
      const tinyBias = prepareBias(new Float32Array(T), 1, 1, T);
      const jobs = attentionHelperJobs(memory);
      for (let i = 0; i < 3000; i++)
        forwardInMemory(K, tiny, tinyBias, { q: io.q, k: io.k, v: io.v, out: io.out, stats: io.stats }, scratch);
      expect(attentionHelperJobs(memory) - jobs).toBe(3000);
    },
    20_000,
  );
});
