import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { groupsFor, runWgsl } from '../webgpu-program';
import {
  registerWebgpuRmsNorm,
  RMSNORM_COMMON_WGSL,
  RMSNORM_WG,
  rmsNormBackwardWgsl,
  rmsNormRows,
  rmsNormUniforms,
} from '../rmsnorm/webgpu';
import { ADD_RMSNORM_BACKWARD, ADD_RMSNORM_FORWARD, ADD_RMSNORM_GRAD } from './add-rmsnorm';

/**
 * The residual add and the RMSNorm after it on WebGPU, one workgroup per row as the RMSNorm kernel
 * (../rmsnorm/webgpu.ts, whose reduction it shares). Forward: one dispatch writes s = a + b and
 * RMSNorm(s)·w (tfjs would run the add, then the norm). Backward: one dispatch writes ds + the norm's
 * gradient, recomputing r = 1/√(mean(s²) + ε) from s (the add's gradient and the sum of the two
 * gradients of s would be two more). The norm of s is computed as the RMSNorm kernel computes it.
 */
const WG = RMSNORM_WG;

const FORWARD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> s: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<uniform> params: U;
${RMSNORM_COMMON_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = groupIndex(wid, nwg);
  if (row >= params.rows) { return; }
  let d = params.d;
  let base = row * d;
  var q = 0.0;
  for (var c = lid; c < d; c += ${WG}u) {
    let v = a[base + c] + b[base + c];
    s[base + c] = v;
    q += v * v;
  }
  ss[lid] = q;
  sp[lid] = 0.0;
  reduce(lid);
  let r = inverseSqrt(ss[0] / f32(d) + params.eps);
  // each invocation reads back only the elements of s it wrote
  for (var c = lid; c < d; c += ${WG}u) { y[base + c] = s[base + c] * r * w[c]; }
}
`;

const BACKWARD_WITH_SUM_WGSL = rmsNormBackwardWgsl(true);
const BACKWARD_WGSL = rmsNormBackwardWgsl(false);

/**
 * Registers the two kernels and the forward's gradient with tfjs for the webgpu backend, and the op with
 * the kernel registry (idempotent). The RMSNorm kernels are registered too.
 */
export function registerWebgpuAddRmsNorm(): void {
  registerWebgpuRmsNorm();
  registerLabKernel({ op: 'add-rmsnorm', backendName: 'webgpu', kernelName: ADD_RMSNORM_FORWARD, ready: () => true });
  if (!tf.getGradient(ADD_RMSNORM_FORWARD)) tf.registerGradient(ADD_RMSNORM_GRAD);
  if (tf.getKernel(ADD_RMSNORM_FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: ADD_RMSNORM_FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b, w } = inputs as Record<string, tf.TensorInfo>;
      const eps = (attrs as { eps: number }).eps;
      const prog = { key: ADD_RMSNORM_FORWARD, code: FORWARD_WGSL, workgroups: groupsFor(rmsNormRows(a)) };
      return runWgsl(backend, prog, [a, b, w], [{ shape: a.shape }, { shape: a.shape }], rmsNormUniforms(a, eps));
    },
  });
  tf.registerKernel({
    kernelName: ADD_RMSNORM_BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { s, w, dy, ds } = inputs as Record<string, tf.TensorInfo | undefined>;
      const eps = (attrs as { eps: number }).eps;
      const prog = ds
        ? { key: ADD_RMSNORM_BACKWARD, code: BACKWARD_WITH_SUM_WGSL, workgroups: groupsFor(rmsNormRows(s!)) }
        : { key: `${ADD_RMSNORM_BACKWARD}NoSum`, code: BACKWARD_WGSL, workgroups: groupsFor(rmsNormRows(s!)) };
      const ins = ds ? [s!, w!, dy!, ds] : [s!, w!, dy!];
      return runWgsl(backend, prog, ins, [{ shape: s!.shape }], rmsNormUniforms(s!, eps))[0];
    },
  });
}
