import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../registry';
import { unpackMatrix, type PackedMatrix } from './pack';
import { wasmPackedBackward, wasmPackedForward } from './wasm-op';

/**
 * A frozen matrix held packed as tensors on the backend (for the wasm kernel: in the heap), with no f32
 * copy of it: `data` is the packed bytes (pack.ts) as an int32 tensor, `scales` the int8 row scales (f16:
 * a one-element placeholder). The shape is W's, [rows, cols] = [out, in] as in x·Wᵀ. `read()` copies the
 * packed bytes back out (export, merging, the reference path); dispose() frees the tensors.
 */
export class PackedWeight {
  readonly format: PackedMatrix['format'];
  readonly rows: number;
  readonly cols: number;
  readonly data: tf.Tensor1D;
  readonly scales: tf.Tensor1D;

  constructor(p: PackedMatrix) {
    this.format = p.format;
    this.rows = p.rows;
    this.cols = p.cols;
    this.data = tf.keep(
      tf.tensor1d(new Int32Array(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength / 4), 'int32'),
    );
    this.scales = tf.keep(tf.tensor1d(p.scales ?? new Float32Array(1), 'float32'));
  }

  /** W's shape [rows, cols], as the f32 tensor it stands for had it. */
  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  /** Bytes held (packed data and scales). */
  get bytes(): number {
    return 4 * (this.data.size + this.scales.size);
  }

  get isDisposed(): boolean {
    return this.data.isDisposed;
  }

  /** The packed matrix, copied back from the tensors. */
  read(): PackedMatrix {
    const bytes = new Uint8Array((this.data.dataSync() as Int32Array).slice().buffer);
    const scales = this.format === 'int8' ? (this.scales.dataSync() as Float32Array).slice() : null;
    return { format: this.format, rows: this.rows, cols: this.cols, bytes, scales };
  }

  /** W as a new f32 tensor [rows, cols] (the caller disposes it). */
  dense(): tf.Tensor2D {
    return tf.tensor2d(unpackMatrix(this.read()), [this.rows, this.cols]);
  }

  dispose(): void {
    releasePacked(this);
    this.data.dispose();
    this.scales.dispose();
  }
}

/** A packed matrix as plain data (pack.ts) or as tensors (PackedWeight). */
export type Packed = PackedMatrix | PackedWeight;

/**
 * x·Wᵀ for a frozen W stored packed (pack.ts: int8 with per-row scales, or f16), with the gradient for x
 * only (dx = dy·W). On wasm, where the kernel registry says so, the packed-matmul kernel (wasm-op.ts)
 * reads W packed and dequantises it row by row inside the kernel; elsewhere the reference path
 * dequantises W into an f32 tensor and uses tf.matMul. Both compute with the same f32 matrix
 * (unpackMatrix), so the reference is the numerical truth the kernel is tested against. The reference
 * path keeps the dequantised f32 matrix while the packed one lives (so on a backend without the kernel a
 * packed base saves no memory).
 */
export function packedMatMul(x: tf.Tensor2D, p: Packed): tf.Tensor2D {
  if (x.shape[1] !== p.cols) throw new Error(`packedMatMul: x [${x.shape}] against W [${p.rows}, ${p.cols}]`);
  return kernelFor('packed-matmul') === 'kernel' ? kernelPackedMatMul(x, p) : referencePackedMatMul(x, p);
}

/** The reference path: W dequantised (kept per matrix while it lives), then tf.matMul both ways. */
export function referencePackedMatMul(x: tf.Tensor2D, p: Packed): tf.Tensor2D {
  const w = dequantised(p);
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: tf.matMul(xi as tf.Tensor2D, w, false, true),
    gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, w)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

/** The kernel path (wasm backend with the kernel ready): W's packed tensors on the heap, kept per matrix. */
export function kernelPackedMatMul(x: tf.Tensor2D, p: Packed): tf.Tensor2D {
  const { w, scales } = packedTensors(p);
  const attrs = attrsOf(p);
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: wasmPackedForward(xi as tf.Tensor2D, w, scales, attrs),
    gradFunc: (dy: tf.Tensor) => [wasmPackedBackward(dy as tf.Tensor2D, w, scales, attrs)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

/** The value of x·Wᵀ (no gradient of its own): the kernel where the registry says so, else the reference. */
export function packedProductT(x: tf.Tensor2D, p: Packed): tf.Tensor2D {
  if (kernelFor('packed-matmul') !== 'kernel') return tf.matMul(x, dequantised(p), false, true);
  const { w, scales } = packedTensors(p);
  return wasmPackedForward(x, w, scales, attrsOf(p));
}

/** The value of dy·W, the activation gradient of x·Wᵀ (no gradient of its own). */
export function packedProduct(dy: tf.Tensor2D, p: Packed): tf.Tensor2D {
  if (kernelFor('packed-matmul') !== 'kernel') return tf.matMul(dy, dequantised(p));
  const { w, scales } = packedTensors(p);
  return wasmPackedBackward(dy, w, scales, attrsOf(p));
}

const attrsOf = (p: Packed) => ({ fmt: p.format === 'f16' ? 1 : 0, N: p.rows, K: p.cols });

interface Held {
  backend: string;
  tensors: tf.Tensor[];
}
const dequant = new WeakMap<Packed, Held>();
const packed = new WeakMap<Packed, Held>();

function held(map: WeakMap<Packed, Held>, p: Packed, make: () => tf.Tensor[]): tf.Tensor[] {
  const backend = tf.getBackend();
  const h = map.get(p);
  if (h && h.backend === backend && h.tensors.every((t) => !t.isDisposed)) return h.tensors;
  if (h) tf.dispose(h.tensors);
  const tensors = tf.tidy(() => make().map((t) => tf.keep(t)));
  map.set(p, { backend, tensors });
  return tensors;
}

function dequantised(p: Packed): tf.Tensor2D {
  return held(dequant, p, () => [
    tf.tensor2d(unpackMatrix(p instanceof PackedWeight ? p.read() : p), [p.rows, p.cols]),
  ])[0] as tf.Tensor2D;
}

function packedTensors(p: Packed): { w: tf.Tensor; scales: tf.Tensor } {
  if (p instanceof PackedWeight) return { w: p.data, scales: p.scales };
  const [w, scales] = held(packed, p, () => [
    tf.tensor1d(new Int32Array(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength / 4), 'int32'),
    tf.tensor1d(p.scales ?? new Float32Array(1), 'float32'),
  ]);
  return { w, scales };
}

/** Free the tensors kept for a packed matrix (its dequantised copy, its heap tensors). */
export function releasePacked(p: Packed): void {
  for (const map of [dequant, packed]) {
    const h = map.get(p);
    if (h) tf.dispose(h.tensors);
    map.delete(p);
  }
}
