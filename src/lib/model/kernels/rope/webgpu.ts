import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl } from '../webgpu-program';
import { ROPE_KERNEL } from './rope';

/**
 * RoPE on WebGPU in one dispatch (tfjs runs 4 for the reference's x·C + (x·R)·S, and 6 for its
 * gradient): one invocation per element of x [B, T, H, d], which reads its partner coordinate itself.
 * With partner p of coordinate j and its sign s (−1 for the first of a pair, +1 for the second):
 *   y[j] = x[j]·cos[t, j] + σ·s·x[p]·sin[t, j]
 * σ = 1 rotates; σ = −1 rotates back, which is the gradient (the rotation is orthogonal and both
 * coordinates of a pair share their angle).
 */
const WG = 256;

const WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosT: array<f32>;
@group(0) @binding(3) var<storage, read> sinT: array<f32>;
struct U { n: u32, d: u32, heads: u32, t: u32, interleaved: u32, sigma: f32 };
@group(0) @binding(4) var<uniform> params: U;
${FLAT_GROUP_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = groupIndex(wid, nwg) * ${WG}u + lid;
  if (i >= params.n) { return; }
  let d = params.d;
  let j = i % d;
  let row = i / d;
  let at = ((row / params.heads) % params.t) * d + j;
  var p: u32;
  var s: f32;
  if (params.interleaved == 1u) {
    if (j % 2u == 0u) { p = j + 1u; s = -1.0; } else { p = j - 1u; s = 1.0; }
  } else {
    let half = d / 2u;
    if (j < half) { p = j + half; s = -1.0; } else { p = j - half; s = 1.0; }
  }
  y[i] = x[i] * cosT[at] + params.sigma * s * x[row * d + p] * sinT[at];
}
`;

/** Registers the kernel with tfjs for the webgpu backend, and the op with the kernel registry (idempotent). */
export function registerWebgpuRope(): void {
  registerLabKernel({ op: 'rope', backendName: 'webgpu', kernelName: ROPE_KERNEL, ready: () => true });
  if (tf.getKernel(ROPE_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: ROPE_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, cos, sin } = inputs as Record<string, tf.TensorInfo>;
      const { interleaved, inverse } = attrs as unknown as { interleaved: boolean; inverse: boolean };
      const [, T, H, d] = x.shape;
      const n = tf.util.sizeFromShape(x.shape);
      const prog = { key: ROPE_KERNEL, code: WGSL, workgroups: groupsFor(Math.ceil(n / WG)) };
      return runWgsl(
        backend,
        prog,
        [x, cos, sin],
        [{ shape: x.shape }],
        [
          { type: 'uint32', value: n },
          { type: 'uint32', value: d },
          { type: 'uint32', value: H },
          { type: 'uint32', value: T },
          { type: 'uint32', value: interleaved ? 1 : 0 },
          { type: 'float32', value: inverse ? -1 : 1 },
        ],
      )[0];
    },
  });
}
