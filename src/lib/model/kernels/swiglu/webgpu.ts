import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl, type WgslProgram } from '../webgpu-program';
import { SWIGLU_BACKWARD, SWIGLU_FORWARD } from './swiglu';

/**
 * SwiGLU's elementwise part on WebGPU: silu(g)·u in one dispatch (tfjs runs 3: sigmoid, two
 * multiplies) and its gradient, dg and du, in one dispatch writing both (tfjs: 9). One invocation
 * per element, WG of them per workgroup; the last workgroup's invocations past n do nothing. σ is
 * written as tfjs-webgpu's Sigmoid writes it, 1/(1 + exp(−g)).
 */
const WG = 256;

const HEADER = /* wgsl */ `
struct U { n: u32 };
${FLAT_GROUP_WGSL}
fn sigma(a: f32) -> f32 { return 1.0 / (1.0 + exp(-1.0 * a)); }
`;

const FORWARD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<uniform> params: U;
${HEADER}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = groupIndex(wid, nwg) * ${WG}u + lid;
  if (i >= params.n) { return; }
  let a = g[i];
  y[i] = a * sigma(a) * u[i];
}
`;

const BACKWARD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> dg: array<f32>;
@group(0) @binding(1) var<storage, read_write> du: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<uniform> params: U;
${HEADER}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = groupIndex(wid, nwg) * ${WG}u + lid;
  if (i >= params.n) { return; }
  let a = g[i];
  let s = sigma(a);
  let d = dy[i];
  dg[i] = d * u[i] * s * (1.0 + a * (1.0 - s));
  du[i] = d * (a * s);
}
`;

const program = (key: string, code: string, n: number): WgslProgram => ({
  key,
  code,
  workgroups: groupsFor(Math.ceil(n / WG)),
});

/** Registers the two kernels with tfjs for the webgpu backend, and the op with the kernel registry (idempotent). */
export function registerWebgpuSwiglu(): void {
  registerLabKernel({ op: 'swiglu', backendName: 'webgpu', kernelName: SWIGLU_FORWARD, ready: () => true });
  if (tf.getKernel(SWIGLU_FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: SWIGLU_FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { g, u } = inputs as Record<string, tf.TensorInfo>;
      const n = tf.util.sizeFromShape(g.shape);
      return runWgsl(
        backend,
        program('CloLabSwiGLU', FORWARD_WGSL, n),
        [g, u],
        [{ shape: g.shape }],
        [{ type: 'uint32', value: n }],
      )[0];
    },
  });
  tf.registerKernel({
    kernelName: SWIGLU_BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { g, u, dy } = inputs as Record<string, tf.TensorInfo>;
      const n = tf.util.sizeFromShape(g.shape);
      return runWgsl(
        backend,
        program('CloLabSwiGLUGrad', BACKWARD_WGSL, n),
        [g, u, dy],
        [{ shape: g.shape }, { shape: g.shape }],
        [{ type: 'uint32', value: n }],
      );
    },
  });
}
