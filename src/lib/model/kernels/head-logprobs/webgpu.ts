import * as tf from '@tensorflow/tfjs';
import { backwardWgsl, forwardWgsl, ROWS_PER_X, UNIFORMS, WG } from './head-logprobs-wgsl';
import { registerLabKernel } from '../registry';
import { isWebGPUBackend, webgpuBackendOf, type UniformData, type WebGPUProgramLike } from '../webgpu-program';

/**
 * Head log-probs on tfjs-backend-webgpu: log softmax(h Wᵀ)[target] per row in one dispatch forward and
 * one backward (WGSL in head-logprobs-wgsl.ts), never a [N, V] tensor. The reference path is
 * headLogprobs in model/logprobs.ts (tfjs ops over row and vocabulary blocks), which takes this kernel
 * where kernelFor('head-logprobs') says 'kernel'. Two tfjs kernels:
 *   FORWARD  {h [N, D], w [V, D], targets [N] int32}               → [2, N]: lp, then lse
 *   BACKWARD {h, w, targets, stats (the forward's [2, N]), dy [N]} → d h [N, D]
 */
const FORWARD = 'CloLabHeadLogprobs';
const BACKWARD = 'CloLabHeadLogprobsGrad';

function program(
  key: string,
  names: string[],
  outputShape: number[],
  N: number,
  code: () => string,
): WebGPUProgramLike {
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: [0] },
    dispatch: [Math.min(N, ROWS_PER_X), Math.ceil(N / ROWS_PER_X), 1],
    variableNames: names,
    uniforms: UNIFORMS,
    workgroupSize: [WG, 1, 1],
    getUserCode: code,
  };
}

const uniformData = (N: number, V: number, D: number): UniformData =>
  [N, V, D].map((x) => ({ type: 'int32' as const, data: [x] }));

/**
 * Registers the two kernels with tfjs for webgpu, and the op with the kernel registry (idempotent). Not
 * called by installLabKernels yet (tests call it): one workgroup per row streams all of W, with no reuse
 * of W across rows, and on SwiftShader that measured no faster than the reference (N 512, V 512, D 64,
 * forward + backward warm: 3.7–6.1 s against 3.5–3.9 s); rows sharing W tiles would be the next step.
 */
export function registerWebGPUHeadLogprobs(): void {
  registerLabKernel({
    op: 'head-logprobs',
    backendName: 'webgpu',
    kernelName: FORWARD,
    ready: (backend) => isWebGPUBackend(backend),
  });
  if (tf.getKernel(FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const be = webgpuBackendOf(backend, 'the WebGPU head log-probs kernel');
      const { h, w, targets } = inputs as Record<string, tf.TensorInfo>;
      const [N, D] = h.shape;
      const prog = program('cloLabHeadLogprobs', ['h', 'w', 'targets'], [2, N], N, forwardWgsl);
      return be.runWebGPUProgram(prog, [h, w, targets], 'float32', uniformData(N, w.shape[0], D));
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const be = webgpuBackendOf(backend, 'the WebGPU head log-probs kernel');
      const { h, w, targets, stats, dy } = inputs as Record<string, tf.TensorInfo>;
      const [N, D] = h.shape;
      const per = Math.ceil(D / WG);
      const prog = program(`cloLabHeadLogprobsGrad_${per}`, ['h', 'w', 'targets', 'stats', 'dy'], [N, D], N, () =>
        backwardWgsl(per),
      );
      return be.runWebGPUProgram(prog, [h, w, targets, stats, dy], 'float32', uniformData(N, w.shape[0], D));
    },
  });
}

/**
 * log softmax(h Wᵀ)[target] for every row by the kernels: h [N, D], w [V, D] (frozen), targets [N]
 * int32 → [N]; differentiable with respect to h only. The forward keeps h and the [2, N] statistics.
 */
export function webgpuHeadLogprobs(h: tf.Tensor2D, w: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const N = h.shape[0];
  const f = tf.customGrad(((hi: tf.Tensor, save: tf.GradSaveFunc) => {
    const stats = tf.engine().runKernel(FORWARD, { h: hi, w, targets }, {}) as tf.Tensor2D;
    // targets saved too: the caller may have made them inside the forward's tidy (a gather of response rows)
    save([hi, stats, targets]);
    return {
      value: tf.slice(stats, [0, 0], [1, N]).reshape([N]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hS, sS, tS] = saved;
        return [tf.engine().runKernel(BACKWARD, { h: hS, w, targets: tS, stats: sS, dy }, {}) as tf.Tensor];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(h) as tf.Tensor1D;
}
