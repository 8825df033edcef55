import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { runWgsl } from '../webgpu-program';
import { GRAD_NORM_KERNEL } from './grad-norm';

/**
 * The step's gradient statistics on WebGPU in two dispatches, whatever the number of variables (tfjs
 * runs square and sum per variable, then isFinite and all per variable for the weights' check):
 *  1. up to GROUPS workgroups stride over g and p together; each writes its partial Σg² and whether it
 *     met a non-finite element of g, of p (a tree in workgroup memory combines the invocations);
 *  2. one workgroup combines the partials and writes [clip, ‖g‖, g finite, p finite] (grad-norm.ts).
 * Finiteness is read from the bits (exponent all ones), never from comparisons a compiler may fold.
 */
const WG = 256;
const GROUPS = 256;

const COMMON = /* wgsl */ `
var<workgroup> ss: array<f32, ${WG}>;
var<workgroup> bad: array<u32, ${WG}>;

// 1 where x is ±Inf or NaN
fn nonFinite(x: f32) -> u32 { return select(0u, 1u, (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u); }

// adds the partial sums of ss and ORs the flags of bad into element 0; every invocation calls it
fn reduce(lid: u32) {
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      ss[lid] += ss[lid + k];
      bad[lid] = bad[lid] | bad[lid + k];
    }
    workgroupBarrier();
  }
}
`;

/** partials: [Σg² per group, g non-finite per group, p non-finite per group] */
const PARTIAL_WGSL = /* wgsl */ `
struct U { n: u32, groups: u32 };
@group(0) @binding(0) var<storage, read_write> part: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> p: array<f32>;
@group(0) @binding(3) var<uniform> params: U;
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let stride = params.groups * ${WG}u;
  var s = 0.0;
  var b = 0u;
  for (var i = wid.x * ${WG}u + lid; i < params.n; i += stride) {
    let x = g[i];
    s += x * x;
    b = b | nonFinite(x) | (nonFinite(p[i]) << 1u);
  }
  ss[lid] = s;
  bad[lid] = b;
  reduce(lid);
  if (lid == 0u) {
    part[wid.x] = ss[0];
    part[params.groups + wid.x] = f32(bad[0] & 1u);
    part[2u * params.groups + wid.x] = f32(bad[0] >> 1u);
  }
}
`;

const FINAL_WGSL = /* wgsl */ `
struct U { groups: u32, clipNorm: f32 };
@group(0) @binding(0) var<storage, read_write> stats: array<f32>;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<uniform> params: U;
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params.groups;
  var s = 0.0;
  var b = 0u;
  for (var i = lid; i < n; i += ${WG}u) {
    s += part[i];
    b = b | select(0u, 1u, part[n + i] != 0.0) | select(0u, 2u, part[2u * n + i] != 0.0);
  }
  ss[lid] = s;
  bad[lid] = b;
  reduce(lid);
  if (lid == 0u) {
    let norm = sqrt(ss[0]);
    stats[0] = min(1.0, params.clipNorm / (norm + 1e-6));
    stats[1] = norm;
    stats[2] = f32(1u - (bad[0] & 1u));
    stats[3] = f32(1u - (bad[0] >> 1u));
  }
}
`;

/** Registers the kernel with tfjs for the webgpu backend, and the op with the kernel registry (idempotent). */
export function registerWebgpuGradNorm(): void {
  registerLabKernel({ op: 'grad-norm', backendName: 'webgpu', kernelName: GRAD_NORM_KERNEL, ready: () => true });
  if (tf.getKernel(GRAD_NORM_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: GRAD_NORM_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { g, p } = inputs as Record<string, tf.TensorInfo>;
      const { clipNorm } = attrs as unknown as { clipNorm: number };
      const n = tf.util.sizeFromShape(g.shape);
      const groups = Math.max(1, Math.min(GROUPS, Math.ceil(n / WG)));
      const [part] = runWgsl(
        backend,
        { key: `${GRAD_NORM_KERNEL}Partial`, code: PARTIAL_WGSL, workgroups: [groups, 1, 1] },
        [g, p],
        [{ shape: [3 * groups] }],
        [
          { type: 'uint32', value: n },
          { type: 'uint32', value: groups },
        ],
      );
      const [stats] = runWgsl(
        backend,
        { key: `${GRAD_NORM_KERNEL}Final`, code: FINAL_WGSL, workgroups: [1, 1, 1] },
        [part],
        [{ shape: [4] }],
        [
          { type: 'uint32', value: groups },
          { type: 'float32', value: clipNorm },
        ],
      );
      (backend as unknown as { disposeData(id: object): void }).disposeData(part.dataId);
      return stats;
    },
  });
}
