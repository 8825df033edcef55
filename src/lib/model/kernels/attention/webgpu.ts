import * as tf from '@tensorflow/tfjs';
import { attentionWgsl, PASS_INPUTS, PASS_OUTPUTS, storageBuffers, WG, type AttentionPass } from './attention-wgsl';
import { BACKWARD, FORWARD, type Attrs } from './op';
import { registerLabKernel } from '../registry';
import { isWebGPUBackend, runWgsl, type WgslProgram, type WgslUniform } from '../webgpu-program';

/**
 * The attention kernels on tfjs-backend-webgpu: 'CloLabAttention' and its gradient (the contract of
 * op.ts, the same as the wasm backend's, plus RoPE folded in), WGSL passes (attention-wgsl.ts) recorded
 * with runWgsl, which writes several outputs in one dispatch. Forward: out and the row statistics in
 * one dispatch (online softmax); backward: dq, then dk and dv together (2 dispatches; 3 where the
 * device binds fewer storage buffers per shader than that pass needs: 9, 10 with RoPE; RoPE is folded
 * in only where the device binds at least 9, the dq pass's count with it). Neither keeps
 * or builds an [n, R, S] tensor: the backward recomputes P from the forward's row statistics, as
 * FlashAttention's does. Any head dim (even with RoPE); f32 throughout.
 */

function program(pass: AttentionPass, a: Attrs): WgslProgram {
  const rows = pass === 'fwd' || pass === 'dq' ? a.R : a.S;
  return {
    key: `CloLabAttention_${pass}_${a.hd}_${a.rope}`,
    code: attentionWgsl(pass, a.hd, a.rope),
    workgroups: [Math.ceil(rows / WG), a.n, 1],
  };
}

function uniforms(a: Attrs, pairs: number): WgslUniform[] {
  // the plain layouts are the head layouts with B = n, T = R, H = Hkv = 1
  const [T, H, Hkv] = a.B ? [a.T, a.H, a.Hkv] : [a.R, 1, 1];
  const ints = [a.n, a.R, a.S, T, H, Hkv, pairs];
  return [...ints.map((value) => ({ type: 'int32' as const, value })), { type: 'float32', value: a.scale }];
}

function run(
  backend: unknown,
  pass: AttentionPass,
  a: Attrs,
  tensors: Record<string, tf.TensorInfo>,
  shapes: number[][],
): tf.TensorInfo[] {
  if (a.rope !== 'none' && !(a.B && a.S === a.T && a.hd % 2 === 0))
    throw new Error('attention with RoPE folded in needs the head layout, S = T and an even head dim');
  const names = [...PASS_INPUTS[pass], ...(a.rope === 'none' ? [] : ['cs'])];
  const inputs = names.map((name) => tensors[name]);
  const outputs = PASS_OUTPUTS[pass].map((_, i) => ({ shape: shapes[i] }));
  return runWgsl(backend, program(pass, a), inputs, outputs, uniforms(a, tensors.bias.shape[0]));
}

/** The device's storage buffers per shader stage (WebGPU's minimum, 8, where no webgpu backend runs). */
function bufferLimit(backend: unknown): number {
  const dev = (backend as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } } | null)?.device;
  return dev?.limits?.maxStorageBuffersPerShaderStage ?? 8;
}

/** Whether the passes of the backward with `rope` fit the device's bindings (RoPE's dq pass binds 9). */
const ropeFits = (backend: unknown) => storageBuffers('dq', 'half') <= bufferLimit(backend);

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
    applies: ({ headDim, rope }) =>
      !rope || ((headDim === undefined || headDim % 2 === 0) && ropeFits(tf.findBackend('webgpu'))),
  });
  if (tf.getKernel(FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as Attrs;
      return run(backend, 'fwd', a, inputs as Record<string, tf.TensorInfo>, [a.outShape, [2, a.n, a.R]]);
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as Attrs;
      const t = { ...inputs, o: inputs.out } as Record<string, tf.TensorInfo>;
      const [dq] = run(backend, 'dq', a, t, [t.q.shape]);
      if (storageBuffers('dkv', a.rope) <= bufferLimit(backend))
        return [dq, ...run(backend, 'dkv', a, t, [t.k.shape, t.v.shape])];
      return [dq, ...run(backend, 'dk', a, t, [t.k.shape]), ...run(backend, 'dv', a, t, [t.v.shape])];
    },
  });
}
