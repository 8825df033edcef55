import * as tf from '@tensorflow/tfjs';
import { relaxedWasmBytes, wasmBytes } from './packed-matmul-wasm';
import { heapAlloc, heapOf, moduleOnHeap, offsetOf, type WasmBackendLike } from '../wasm-heap';
import { registerLabKernel } from '../registry';

/**
 * The packed-matrix products as two tfjs kernels of the wasm backend ('CloLabPackedMatMul': y = x·Wᵀ,
 * 'CloLabPackedMatMulGradX': dx = dy·W), running packed-matmul.wat in place on the backend's heap. W
 * lies there as an int32 tensor of its packed bytes (pack.ts), with its scales as a float32 tensor (int8;
 * f16 passes a one-element placeholder). The module's relaxed-SIMD build (fused multiply-add) is used
 * where the engine validates it, else its plain-SIMD build; setPackedMatMulSimd pins one (tests, benches).
 */
export interface PackedMatMulExports {
  mem: WebAssembly.Memory;
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

/** The module build `simd` on a backend's heap, or null (not the wasm backend, no SIMD, build not valid). */
function heapKernel(
  backend: unknown,
  simd = packedMatMulSimd(),
): { be: WasmBackendLike; K: PackedMatMulExports } | null {
  const heap = heapOf(backend);
  if (!heap) return null;
  const name = `packed-matmul-${simd}`;
  const K = moduleOnHeap<PackedMatMulExports>(heap, name, simd === 'relaxed' ? relaxedWasmBytes : wasmBytes);
  return K ? { be: heap.be, K } : null;
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
      const { be, K } = heapKernel(backend)!;
      const { a, w, scales } = inputs as Record<string, tf.TensorInfo>;
      const { fmt, N, K: cols } = attrs as unknown as Attrs;
      const M = a.shape[0];
      const out = be.makeOutput(dir === 'forward' ? [M, N] : [M, cols], 'float32');
      const scratch = heapAlloc(be, 16 * Math.max(1, cols));
      try {
        K[dir](fmt, offsetOf(be, a), offsetOf(be, w), offsetOf(be, scales), offsetOf(be, out), scratch.at, M, N, cols);
      } finally {
        scratch.release();
      }
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
