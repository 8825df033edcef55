import * as tf from '@tensorflow/tfjs';

/**
 * Which implementation of a fused op runs: the one place that decides.
 *
 * Each fused op (kernels/<op>/) has a reference path made of tfjs ops (tfjs's autodiff, or a custom
 * gradient checked against it), which runs on every backend, and may have a hand-written kernel for some
 * backend (wasm, webgpu). A kernel counts as present for a backend when installLabKernels (install.ts)
 * has registered it there (`registerLabKernel`, beside tfjs's own `registerKernel`). Then:
 *
 *   kernelFor('attention', { headDim })   // 'kernel' | 'reference' on the current backend
 *   kernelFor('attention', { backend: 'wasm', headDim })   // what a run on wasm will use (memory guard)
 *   forceReference('swiglu')              // tests, A/B benches: the reference path wherever it runs
 *
 * A kernel is used where it is registered for the backend, applies to the shape (attention: head dims
 * divisible by 4) and, on the running backend, is ready (its module instantiated on the backend's heap:
 * WebAssembly SIMD present, a tfjs-backend-wasm build whose heap is known; webgpu kernels are always ready).
 */
export type LabOp =
  | 'attention'
  | 'swiglu'
  | 'packed-matmul'
  | 'rmsnorm'
  | 'add-rmsnorm'
  | 'adamw'
  | 'grad-norm'
  | 'head-logprobs'
  | 'lora-linear'
  | 'rope';

export type KernelPath = 'kernel' | 'reference';

/** The shape facts a kernel's applicability depends on. */
export interface OpShape {
  /** attention: the head dimension */
  headDim?: number;
  /** attention: RoPE folded into the kernel (it rotates q and k itself; webgpu's does, wasm's does not) */
  rope?: boolean;
}

export interface LabKernel {
  op: LabOp;
  backendName: string;
  /** the tfjs kernel (forward) that runs it, registered with tf.registerKernel */
  kernelName: string;
  /** whether the kernel can run on this backend instance (its module ready on the heap) */
  ready(backend: unknown): boolean;
  /** whether the kernel handles this shape; absent = every shape */
  applies?(shape: OpShape): boolean;
}

const kernels = new Map<string, LabKernel>();
const forced = new Set<LabOp>();

const key = (op: LabOp, backendName: string) => `${op}@${backendName}`;

/** Record a kernel installLabKernels registered with tfjs (its kernelName must be registered too). */
export function registerLabKernel(k: LabKernel): void {
  kernels.set(key(k.op, k.backendName), k);
}

/** The lab kernels registered now, for one backend or all. */
export function labKernels(backendName?: string): LabKernel[] {
  return [...kernels.values()].filter((k) => !backendName || k.backendName === backendName);
}

/** Tests and A/B benches: `on` = the op takes its reference path on every backend until turned off again. */
export function forceReference(op: LabOp, on = true): void {
  if (on) forced.add(op);
  else forced.delete(op);
}

/**
 * 'kernel' where the op's kernel is registered for the backend (default: the current one), applies to
 * the shape and, on the running backend, is ready; else 'reference'.
 */
export function kernelFor(op: LabOp, opts: OpShape & { backend?: string } = {}): KernelPath {
  if (forced.has(op)) return 'reference';
  const current = tf.getBackend();
  const backendName = opts.backend ?? current;
  const k = kernels.get(key(op, backendName));
  if (!k || !tf.getKernel(k.kernelName, backendName)) return 'reference';
  if (k.applies && !k.applies(opts)) return 'reference';
  if (backendName === current && !k.ready(tf.backend())) return 'reference';
  return 'kernel';
}

/**
 * Backends whose matrix products are fast only untransposed: tfjs-wasm runs only the plain A·B (batch 1)
 * through XNNPACK, a transposed operand falls to a slow loop (model/matmul.ts transposes explicitly there
 * and keeps Wᵀ copies of frozen weights, which the memory estimate counts).
 */
const PLAIN_PRODUCT_BACKENDS: readonly string[] = ['wasm'];

/** Whether products on this backend (default: the current one) should be written untransposed. */
export function plainProductsOnly(backendName: string = tf.getBackend()): boolean {
  return PLAIN_PRODUCT_BACKENDS.includes(backendName);
}
