import * as tf from '@tensorflow/tfjs';
import { relaxedWasmBytes, wasmBytes } from './packed-matmul-wasm';
import { heapAlloc, heapOf, moduleOnHeap, offsetOf, type WasmBackendLike } from '../wasm-heap';
import { registerLabKernel } from '../registry';
import { join, post, readyHelpers, type Helper } from '../attention/threads';

/**
 * The packed-matrix products as two tfjs kernels of the wasm backend ('CloLabPackedMatMul': y = x·Wᵀ,
 * 'CloLabPackedMatMulGradX': dx = dy·W), running packed-matmul.wat in place on the backend's heap. W
 * lies there as an int32 tensor of its packed bytes (pack.ts), with its scales as a float32 tensor (int8;
 * f16 passes a one-element placeholder). The module's relaxed-SIMD build (fused multiply-add) is used
 * where the engine validates it, else its plain-SIMD build; setPackedMatMulSimd pins one (tests, benches).
 * With setPackedMatMulThreads(true), on a shared heap (tfjs's threaded build), a product's rows of x / dy
 * are split between the calling thread and helper threads running the same module on the same memory
 * (attention/threads.ts), each with its own scratch; every output row is computed by the same code
 * whichever thread runs it, so the result is bit-identical to one thread. On by default: on a 2-core
 * machine with one other busy process, the SmolLM2-135M-shape int8 CLO step (1 × 256) took 22.6 s with the
 * split and 33.0 s without (bench/profile-step.ts); setPackedMatMulThreads(false) turns it off. A plain
 * heap (CLO_LAB_WASM_THREADS=1) always runs on the calling thread alone.
 */
export interface PackedMatMulExports {
  mem: WebAssembly.Memory;
  /** bytes of scratch forward and backward need for W [N, K] */
  scratchBytes(K: number): number;
  forward(
    fmt: number,
    x: number,
    w: number,
    scales: number,
    y: number,
    scratch: number,
    M: number,
    N: number,
    K: number,
  ): void;
  backward(
    fmt: number,
    dy: number,
    w: number,
    scales: number,
    dx: number,
    scratch: number,
    M: number,
    N: number,
    K: number,
  ): void;
}

export type PackedSimd = 'relaxed' | 'plain';

const FORWARD = 'CloLabPackedMatMul';
const BACKWARD = 'CloLabPackedMatMulGradX';

/** The f32x4.relaxed_madd module the engine is asked about: it validates only with relaxed SIMD. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2,
  253, 133, 2, 11,
]);

/** Whether this engine has relaxed SIMD (Chrome; Node 20 with --experimental-wasm-relaxed-simd). */
export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

let pinned: PackedSimd | null = null;

/** Tests and benches: run the given build of the module (null: the best the engine validates). */
export function setPackedMatMulSimd(simd: PackedSimd | null): void {
  pinned = simd;
}

/** Which build the kernels run now: 'relaxed' where pinned or validated, else 'plain'. */
export function packedMatMulSimd(): PackedSimd {
  return pinned ?? (hasRelaxedSimd() ? 'relaxed' : 'plain');
}

let threadsOn = true;
/** True splits products over helper threads where the heap is shared (see above); false: the calling thread. */
export function setPackedMatMulThreads(on: boolean): void {
  threadsOn = on;
}

/** Products of fewer multiply-adds than this stay on the calling thread (waking a helper costs more). */
const MIN_THREADED_MACS = 1 << 20;

/** The module build `simd` on a backend's heap, or null (not the wasm backend, no SIMD, build not valid). */
function heapKernel(
  backend: unknown,
  simd = packedMatMulSimd(),
): { be: WasmBackendLike; K: PackedMatMulExports; simd: PackedSimd } | null {
  const heap = heapOf(backend);
  if (!heap) return null;
  const name = `packed-matmul-${simd}`;
  const K = moduleOnHeap<PackedMatMulExports>(heap, name, simd === 'relaxed' ? relaxedWasmBytes : wasmBytes);
  return K ? { be: heap.be, K, simd } : null;
}

/** The helper threads for a product of M rows (each thread gets at least four rows), none on a plain memory. */
function helpersFor(memory: WebAssembly.Memory, simd: PackedSimd, M: number, macs: number): Helper[] {
  if (!threadsOn || !(memory.buffer instanceof SharedArrayBuffer) || M < 8 || macs < MIN_THREADED_MACS) return [];
  const bytes = () => (simd === 'relaxed' ? relaxedWasmBytes(true) : wasmBytes(true));
  return readyHelpers(memory, bytes, `packed-matmul-${simd}`).slice(0, Math.floor(M / 4) - 1);
}

/** The first row of part i of M rows cut into `parts` (multiples of four, so blocks stay whole). */
const rowAt = (i: number, parts: number, M: number) => (i === parts ? M : 4 * Math.round((i * M) / parts / 4));

/** Where a product's arrays lie in the module's memory (byte offsets) and its sizes (W is [N, K]). */
export interface ProductIO {
  fmt: number;
  /** x (forward) or dy (backward), [M, K] or [M, N] */
  a: number;
  w: number;
  scales: number;
  /** y (forward) or dx (backward) */
  out: number;
  M: number;
  N: number;
  K: number;
}

/**
 * One product (`dir`) of the module `simd` (K, instantiated on its memory): its rows of a cut between
 * this thread and the memory's ready helpers (a shared memory only), each part with scratch of its own
 * from `alloc`; waits for every part.
 */
export function productInMemory(
  K: PackedMatMulExports,
  simd: PackedSimd,
  dir: 'forward' | 'backward',
  io: ProductIO,
  alloc: (bytes: number) => { at: number; release(): void },
): void {
  const { fmt, M, N, K: cols } = io;
  const helpers = helpersFor(K.mem, simd, M, M * N * cols);
  const parts = helpers.length + 1;
  const scratchBytes = K.scratchBytes(cols);
  const scratch = alloc(parts * scratchBytes);
  // bytes of one row of the input (x or dy) and of the output (y or dx)
  const [aRow, outRow] = dir === 'forward' ? [4 * cols, 4 * N] : [4 * N, 4 * cols];
  const args = (i: number): Parameters<PackedMatMulExports['forward']> => {
    const [m0, m1] = [rowAt(i, parts, M), rowAt(i + 1, parts, M)];
    const at = scratch.at + i * scratchBytes;
    return [fmt, io.a + m0 * aRow, io.w, io.scales, io.out + m0 * outRow, at, m1 - m0, N, cols];
  };
  const posted: Helper[] = [];
  try {
    for (let i = 1; i < parts; i++) {
      post(helpers[i - 1], dir === 'forward' ? 0 : 1, args(i));
      posted.push(helpers[i - 1]);
    }
    K[dir](...args(0));
  } finally {
    try {
      for (const h of posted) join(h);
    } finally {
      scratch.release();
    }
  }
}

interface Attrs {
  fmt: number;
  N: number;
  K: number;
}

/** Registers the two kernels with tfjs for the wasm backend, and the op with the kernel registry (idempotent). */
export function registerWasmPackedMatMul(): void {
  registerLabKernel({
    op: 'packed-matmul',
    backendName: 'wasm',
    kernelName: FORWARD,
    ready: (backend) => heapKernel(backend) !== null,
  });
  if (tf.getKernel(FORWARD, 'wasm')) return;
  const run = (dir: 'forward' | 'backward') =>
    (({ inputs, backend, attrs }) => {
      const { be, K, simd } = heapKernel(backend)!;
      const { a, w, scales } = inputs as Record<string, tf.TensorInfo>;
      const { fmt, N, K: cols } = attrs as unknown as Attrs;
      const M = a.shape[0];
      const out = be.makeOutput(dir === 'forward' ? [M, N] : [M, cols], 'float32');
      const [aAt, wAt, sAt, outAt] = [a, w, scales, out].map((t) => offsetOf(be, t));
      const io = { fmt, a: aAt, w: wAt, scales: sAt, out: outAt, M, N, K: cols };
      productInMemory(K, simd, dir, io, (bytes) => heapAlloc(be, bytes));
      return out;
    }) as tf.KernelFunc;
  tf.registerKernel({ kernelName: FORWARD, backendName: 'wasm', kernelFunc: run('forward') });
  tf.registerKernel({ kernelName: BACKWARD, backendName: 'wasm', kernelFunc: run('backward') });
}

/** y = x·Wᵀ on the wasm heap; W as its packed tensors (see packed-matmul.ts). */
export function wasmPackedForward(x: tf.Tensor2D, w: tf.Tensor, scales: tf.Tensor, attrs: Attrs): tf.Tensor2D {
  return tf.engine().runKernel(FORWARD, { a: x, w, scales }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** dx = dy·W on the wasm heap. */
export function wasmPackedBackward(dy: tf.Tensor2D, w: tf.Tensor, scales: tf.Tensor, attrs: Attrs): tf.Tensor2D {
  return tf.engine().runKernel(BACKWARD, { a: dy, w, scales }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
