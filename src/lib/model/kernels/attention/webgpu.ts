import * as tf from '@tensorflow/tfjs';
import { attentionWgsl, PASS_INPUTS, UNIFORMS, WG, type AttentionPass } from './attention-wgsl';
import { BACKWARD, FORWARD, type Attrs } from './op';
import { registerLabKernel } from '../registry';
import {
  isWebGPUBackend,
  webgpuBackendOf,
  type UniformData,
  type WebGPUBackendLike,
  type WebGPUProgramLike,
} from '../webgpu-program';

/**
 * The attention kernels on tfjs-backend-webgpu: 'CloLabAttention' and its gradient (the contract of
 * op.ts, the same as the wasm backend's), each a sequence of WGSL passes (attention-wgsl.ts) run through
 * the backend's runWebGPUProgram. Forward: stats, then out (2 dispatches); backward: dq, dk, dv
 * (3 dispatches). Neither keeps or builds an [n, R, S] tensor: the backward recomputes P from the
 * forward's row statistics, as FlashAttention's does. Any head dim; f32 throughout.
 */

function program(pass: AttentionPass, a: Attrs, outputShape: number[]): WebGPUProgramLike {
  const rows = pass === 'dk' || pass === 'dv' ? a.S : a.R;
  return {
    outputShape,
    shaderKey: `cloLabAttention_${pass}_${a.hd}`,
    // the flat layout (main gets a flat index it ignores: the shader reads workgroupId / localIndex)
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(rows / WG), a.n, 1],
    variableNames: PASS_INPUTS[pass],
    uniforms: UNIFORMS,
    workgroupSize: [WG, 1, 1],
    getUserCode: () => attentionWgsl(pass, a.hd),
  };
}

function uniformData(a: Attrs, pairs: number): UniformData {
  // the plain layouts are the head layouts with B = n, T = R, H = Hkv = 1
  const [T, H, Hkv] = a.B ? [a.T, a.H, a.Hkv] : [a.R, 1, 1];
  const ints = [a.n, a.R, a.S, T, H, Hkv, pairs];
  return [...ints.map((x) => ({ type: 'int32' as const, data: [x] })), { type: 'float32', data: [a.scale] }];
}

function run(
  be: WebGPUBackendLike,
  pass: AttentionPass,
  a: Attrs,
  tensors: Record<string, tf.TensorInfo>,
  outputShape: number[],
): tf.TensorInfo {
  const inputs = PASS_INPUTS[pass].map((name) => tensors[name]);
  const pairs = tensors.bias.shape[0];
  return be.runWebGPUProgram(program(pass, a, outputShape), inputs, 'float32', uniformData(a, pairs));
}

/**
 * Registers the two kernels with tfjs for the webgpu backend, and the op with the kernel registry
 * (installLabKernels('webgpu') calls it; idempotent).
 */
export function registerWebGPUAttention(): void {
  registerLabKernel({
    op: 'attention',
    backendName: 'webgpu',
    kernelName: FORWARD,
    ready: (backend) => isWebGPUBackend(backend),
  });
  if (tf.getKernel(FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = webgpuBackendOf(backend, 'the WebGPU attention kernel');
      const a = attrs as unknown as Attrs;
      const t = inputs as Record<string, tf.TensorInfo>;
      const stats = run(be, 'stats', a, t, [2, a.n, a.R]);
      const out = run(be, 'out', a, { ...t, stats }, a.outShape);
      return [out, stats];
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = webgpuBackendOf(backend, 'the WebGPU attention kernel');
      const a = attrs as unknown as Attrs;
      const t: Record<string, tf.TensorInfo> = { ...inputs, o: inputs.out } as Record<string, tf.TensorInfo>;
      return [run(be, 'dq', a, t, t.q.shape), run(be, 'dk', a, t, t.k.shape), run(be, 'dv', a, t, t.v.shape)];
    },
  });
}
