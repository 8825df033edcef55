import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl } from '../webgpu-program';
import { RMSNORM_BACKWARD, RMSNORM_FORWARD } from './rmsnorm';

/**
 * RMSNorm on WebGPU, one workgroup per row of x [N, D]: each invocation sums its strided share of the
 * row, a tree in workgroup memory adds the WG partial sums, then the row is written. Forward: one
 * dispatch (tfjs runs 6: square, mean, add, rsqrt, two multiplies). Backward: one dispatch that
 * recomputes r = 1/√(mean(x²) + ε) beside mean(x·dy·w) in the same pass, so the forward keeps only x
 * (tfjs runs ~10 over [N, D] and the saved r). Reductions stay in workgroup memory: tfjs-webgpu 4.22
 * requests no 'subgroups' feature for its device, so subgroup operations are never available to it.
 */
export const RMSNORM_WG = 64;
const WG = RMSNORM_WG;

/** WGSL shared by the row-norm kernels (here and ../add-rmsnorm/): the uniforms U, groupIndex, reduce(lid). */
export const RMSNORM_COMMON_WGSL = /* wgsl */ `
struct U { rows: u32, d: u32, eps: f32 };
${FLAT_GROUP_WGSL}
var<workgroup> ss: array<f32, ${WG}>;
var<workgroup> sp: array<f32, ${WG}>;

// adds the WG partial sums of ss (and sp) into element 0; every invocation of the workgroup calls it
fn reduce(lid: u32) {
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      ss[lid] += ss[lid + k];
      sp[lid] += sp[lid + k];
    }
    workgroupBarrier();
  }
}
`;

const FORWARD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<uniform> params: U;
${RMSNORM_COMMON_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = groupIndex(wid, nwg);
  if (row >= params.rows) { return; }
  let d = params.d;
  let base = row * d;
  var s = 0.0;
  for (var c = lid; c < d; c += ${WG}u) { let v = x[base + c]; s += v * v; }
  ss[lid] = s;
  sp[lid] = 0.0;
  reduce(lid);
  let r = inverseSqrt(ss[0] / f32(d) + params.eps);
  for (var c = lid; c < d; c += ${WG}u) { y[base + c] = x[base + c] * r * w[c]; }
}
`;

/**
 * The backward of the norm of s (x, or the sum a + b of the fused residual add): dx = the norm's gradient,
 * plus the sum's own gradient ds where `withSum` (add-rmsnorm's backward).
 */
export const rmsNormBackwardWgsl = (withSum: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> dx: array<f32>;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
${withSum ? '@group(0) @binding(4) var<storage, read> ds: array<f32>;' : ''}
@group(0) @binding(${withSum ? 5 : 4}) var<uniform> params: U;
${RMSNORM_COMMON_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = groupIndex(wid, nwg);
  if (row >= params.rows) { return; }
  let d = params.d;
  let base = row * d;
  var q = 0.0;
  var p = 0.0;
  for (var c = lid; c < d; c += ${WG}u) {
    let v = s[base + c];
    q += v * v;
    p += v * (dy[base + c] * w[c]);
  }
  ss[lid] = q;
  sp[lid] = p;
  reduce(lid);
  let fd = f32(d);
  let r = inverseSqrt(ss[0] / fd + params.eps);
  let k = (sp[0] / fd) * (r * r * r);
  for (var c = lid; c < d; c += ${WG}u) {
    dx[base + c] = ${withSum ? 'ds[base + c] + ' : ''}(dy[base + c] * w[c] * r - s[base + c] * k);
  }
}
`;

const BACKWARD_WGSL = rmsNormBackwardWgsl(false);

/** The uniforms U of a row-norm kernel over x [..., D]: rows, d, eps. */
export function rmsNormUniforms(x: tf.TensorInfo, eps: number) {
  const d = x.shape[x.shape.length - 1];
  return [
    { type: 'uint32' as const, value: tf.util.sizeFromShape(x.shape) / d },
    { type: 'uint32' as const, value: d },
    { type: 'float32' as const, value: eps },
  ];
}

/** The rows of x [..., D]. */
export const rmsNormRows = (x: tf.TensorInfo) => tf.util.sizeFromShape(x.shape) / x.shape[x.shape.length - 1];

/** Registers the two kernels with tfjs for the webgpu backend, and the op with the kernel registry (idempotent). */
export function registerWebgpuRmsNorm(): void {
  registerLabKernel({ op: 'rmsnorm', backendName: 'webgpu', kernelName: RMSNORM_FORWARD, ready: () => true });
  if (tf.getKernel(RMSNORM_FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: RMSNORM_FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w } = inputs as Record<string, tf.TensorInfo>;
      const eps = (attrs as { eps: number }).eps;
      const prog = { key: RMSNORM_FORWARD, code: FORWARD_WGSL, workgroups: groupsFor(rmsNormRows(x)) };
      return runWgsl(backend, prog, [x, w], [{ shape: x.shape }], rmsNormUniforms(x, eps))[0];
    },
  });
  tf.registerKernel({
    kernelName: RMSNORM_BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, dy } = inputs as Record<string, tf.TensorInfo>;
      const eps = (attrs as { eps: number }).eps;
      const prog = { key: RMSNORM_BACKWARD, code: BACKWARD_WGSL, workgroups: groupsFor(rmsNormRows(x)) };
      return runWgsl(backend, prog, [x, w, dy], [{ shape: x.shape }], rmsNormUniforms(x, eps))[0];
    },
  });
}
