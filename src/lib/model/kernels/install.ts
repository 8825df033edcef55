import { installEagerBackward } from '../backprop';
import { registerWasmAttention } from './attention/wasm-op';
import { registerWebGPUAttention } from './attention/webgpu';
import { shareWasmIdentity } from './identity/wasm';
import { registerWasmPackedMatMul } from './packed-matmul/wasm-op';
import { registerWebgpuPackedMatMul } from './packed-matmul/webgpu-op';
import { ensureWasmSegmentSum } from './segment-sum/wasm';
import { fastWasmSlice } from './slice/wasm';
import { registerWasmSwiglu } from './swiglu/wasm-op';
import { registerWebgpuSwiglu } from './swiglu/webgpu';
import { registerWebgpuRmsNorm } from './rmsnorm/webgpu';
import { registerWebgpuAddRmsNorm } from './add-rmsnorm/webgpu';
import { registerWebgpuAdamw } from './adamw/webgpu';
import { registerWebgpuLoraLinear } from './lora-linear/webgpu';
import { registerWebgpuGradNorm } from './grad-norm/webgpu';
import { fastWebgpuSplit } from './split/webgpu';
import { registerWebgpuRope } from './rope/webgpu';

/**
 * Every change the lab makes to tfjs, installed by one explicit call at backend start (workers/host/boot.ts,
 * cli/node-env.ts; tests and benches where they set a backend). docs/choices.md lists them and why.
 *
 *   installLabKernels(tf.getBackend());
 *
 * Process-wide, whatever the backend:
 *  - installEagerBackward (../backprop.ts): tfjs's engine.gradients replaced by the same walk that frees
 *    each gradient and saved tensor once used (the same floats; a lower peak).
 * For the wasm backend (installWasmKernels; needs @tensorflow/tfjs-backend-wasm imported, whose kernels
 * it extends or replaces):
 *  - the lab's kernels: 'CloLabAttention' (+Grad), 'CloLabSwiGLU' (+Grad) and 'CloLabPackedMatMul' (+GradX:
 *    products with a packed frozen matrix), registered with tfjs and
 *    with the kernel registry (registry.ts), which decides where they run;
 *  - tfjs's Identity replaced by one that shares its input's buffer (identity/wasm.ts);
 *  - tfjs's Slice and SplitV replaced by in-heap copies for contiguous pieces (slice/wasm.ts);
 *  - UnsortedSegmentSum (gather's gradient), which tfjs-backend-wasm lacks (segment-sum/wasm.ts).
 * For the webgpu backend (installWebgpuKernels): the same kernel names as WGSL programs ('CloLabSwiGLU'
 * (+Grad), 'CloLabPackedMatMul' (+GradX), 'CloLabAttention' (+Grad), as WGSL passes with no [T, T]
 * tensor) and the lab's 'CloLabRMSNorm' (+Grad), 'CloLabAddRMSNorm' (+Grad: the residual add and the
 * RMSNorm after it, one dispatch each way), 'CloLabLoraLinear' (+Grad: a frozen linear with its
 * LoRA adapter, two dispatches each way), 'CloLabAdamW' (the optimizer's update in one dispatch),
 * 'CloLabGradNorm' (the step's gradient norm, clip scale and finite checks in two) and 'CloLabRope' (RoPE
 * and its gradient, one dispatch each), registered with tfjs and the kernel registry; tfjs's SplitV replaced by one that writes up to 15 pieces a dispatch
 * instead of one (split/webgpu.ts). The head log-probs kernel
 * (head-logprobs/webgpu.ts) is not installed: it reads all of W once per row, and on SwiftShader it is
 * no faster than the reference's blocked products (docs/choices.md).
 * Idempotent: a second call changes nothing.
 */
export function installLabKernels(backendName: string): void {
  installEagerBackward();
  BACKEND_KERNELS[backendName]?.();
}

/** The lab's kernels and kernel replacements for the wasm backend (see installLabKernels). */
export function installWasmKernels(): void {
  registerWasmAttention();
  registerWasmSwiglu();
  registerWasmPackedMatMul();
  shareWasmIdentity();
  fastWasmSlice();
  ensureWasmSegmentSum();
}

/**
 * The lab's kernels for the webgpu backend (tfjs-backend-webgpu 4.22): WGSL programs recorded in tfjs's own
 * command stream (webgpu-program.ts, or runWebGPUProgram for one-output kernels), registered with tfjs and
 * with the kernel registry; 'CloLabPackedMatMul' (+GradX) under the same names as on wasm.
 */
export function installWebgpuKernels(): void {
  registerWebgpuSwiglu();
  registerWebgpuRmsNorm();
  registerWebgpuAddRmsNorm();
  registerWebgpuAdamw();
  registerWebgpuGradNorm();
  registerWebgpuPackedMatMul();
  registerWebGPUAttention();
  registerWebgpuLoraLinear();
  registerWebgpuRope();
  fastWebgpuSplit();
}

/** Per backend, what installLabKernels adds for it. */
const BACKEND_KERNELS: Record<string, () => void> = { wasm: installWasmKernels, webgpu: installWebgpuKernels };
