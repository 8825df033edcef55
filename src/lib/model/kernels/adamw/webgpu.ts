import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl } from '../webgpu-program';
import { ADAMW_KERNEL, type AdamwConstants } from './adamw';

/**
 * AdamW over the flat vector on WebGPU: one dispatch reads g, p, m, v and writes the new p, m and v
 * (tfjs runs ~15 elementwise kernels, each a pass over the vector). One invocation per element. The
 * constants arrive rounded to f32 as the reference path's scalar tensors round them (1 − β, the bias
 * corrections, rate·decay), and the operations keep the reference path's order. The clip scale is
 * c[0], a tensor (the global norm stays on the GPU); a per-element rate follows it in c.
 */
const WG = 256;

const code = (rateVector: boolean) => /* wgsl */ `
struct U { n: u32, b1: f32, b2: f32, omb1: f32, omb2: f32, bc1: f32, bc2: f32, eps: f32, rate: f32,
           decay: f32, rateDecay: f32 };
@group(0) @binding(0) var<storage, read_write> pOut: array<f32>;
@group(0) @binding(1) var<storage, read_write> mOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> vOut: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> p: array<f32>;
@group(0) @binding(5) var<storage, read> m: array<f32>;
@group(0) @binding(6) var<storage, read> v: array<f32>;
@group(0) @binding(7) var<storage, read> c: array<f32>;
@group(0) @binding(8) var<uniform> params: U;
${FLAT_GROUP_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = groupIndex(wid, nwg) * ${WG}u + lid;
  if (i >= params.n) { return; }
  let gi = g[i] * c[0];
  let mi = m[i] * params.b1 + gi * params.omb1;
  let vi = v[i] * params.b2 + (gi * gi) * params.omb2;
  mOut[i] = mi;
  vOut[i] = vi;
  let update = (mi / params.bc1) / (sqrt(vi / params.bc2) + params.eps);
  let pi = p[i];
  ${
    rateVector
      ? `let r = c[i + 1u];
  var next = pi - update * r;
  if (params.decay > 0.0) { next = next - (pi * r) * params.decay; }`
      : `var next = pi - update * params.rate;
  if (params.decay > 0.0) { next = next - pi * params.rateDecay; }`
  }
  pOut[i] = next;
}
`;

type Attrs = AdamwConstants & { rateVector: boolean; rate: number };

/** Registers the kernel with tfjs for the webgpu backend, and the op with the kernel registry (idempotent). */
export function registerWebgpuAdamw(): void {
  registerLabKernel({ op: 'adamw', backendName: 'webgpu', kernelName: ADAMW_KERNEL, ready: () => true });
  if (tf.getKernel(ADAMW_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: ADAMW_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { g, p, m, v, c } = inputs as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as Attrs;
      const n = tf.util.sizeFromShape(p.shape);
      const f = (value: number) => ({ type: 'float32' as const, value });
      const prog = {
        key: `${ADAMW_KERNEL}${a.rateVector ? 'RateVector' : ''}`,
        code: code(a.rateVector),
        workgroups: groupsFor(Math.ceil(n / WG)),
      };
      return runWgsl(
        backend,
        prog,
        [g, p, m, v, c],
        [{ shape: p.shape }, { shape: p.shape }, { shape: p.shape }],
        [
          { type: 'uint32', value: n },
          f(a.beta1),
          f(a.beta2),
          f(1 - a.beta1),
          f(1 - a.beta2),
          f(a.bc1),
          f(a.bc2),
          f(a.eps),
          f(a.rate),
          f(a.weightDecay),
          f(a.rate * a.weightDecay),
        ],
      );
    },
  });
}
