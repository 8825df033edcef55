import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl } from '../webgpu-program';
import { SCATTER_ROWS, SEQUENCE_SUM } from './response-rows';

/**
 * The response rows' kernels on WebGPU (response-rows.ts), one dispatch each:
 *   SCATTER       one invocation per element of the [N, D] result: dy[slot[n], d], or 0 where slot[n] < 0
 *   SEQUENCE_SUM  one invocation per sequence, adding its rows in order
 */
const WG = 64;

const SCATTER_WGSL = /* wgsl */ `
struct U { size: u32, d: u32 };
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> slot: array<i32>;
@group(0) @binding(3) var<uniform> params: U;
${FLAT_GROUP_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = groupIndex(wid, nwg) * ${WG}u + lid;
  if (i >= params.size) { return; }
  let row = i / params.d;
  let s = slot[row];
  var v = 0.0;
  if (s >= 0) { v = dy[u32(s) * params.d + (i - row * params.d)]; }
  y[i] = v;
}
`;

const SUM_WGSL = /* wgsl */ `
struct U { seqs: u32 };
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> starts: array<i32>;
@group(0) @binding(3) var<uniform> params: U;
${FLAT_GROUP_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let s = groupIndex(wid, nwg) * ${WG}u + lid;
  if (s >= params.seqs) { return; }
  var acc = 0.0;
  for (var j = starts[s]; j < starts[s + 1u]; j++) { acc += x[j]; }
  y[s] = acc;
}
`;

/** Registers the two kernels with tfjs for webgpu, and the op with the kernel registry (idempotent). */
export function registerWebgpuResponseRows(): void {
  registerLabKernel({ op: 'response-rows', backendName: 'webgpu', kernelName: SCATTER_ROWS, ready: () => true });
  if (tf.getKernel(SCATTER_ROWS, 'webgpu')) return;
  tf.registerKernel({
    kernelName: SCATTER_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { dy, slot } = inputs as Record<string, tf.TensorInfo>;
      const N = slot.shape[0];
      const D = dy.shape[1];
      const size = N * D;
      const prog = { key: SCATTER_ROWS, code: SCATTER_WGSL, workgroups: groupsFor(Math.ceil(size / WG)) };
      return runWgsl(
        backend,
        prog,
        [dy, slot],
        [{ shape: [N, D] }],
        [
          { type: 'uint32', value: size },
          { type: 'uint32', value: D },
        ],
      )[0];
    },
  });
  tf.registerKernel({
    kernelName: SEQUENCE_SUM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { x, starts } = inputs as Record<string, tf.TensorInfo>;
      const S = starts.shape[0] - 1;
      const prog = { key: SEQUENCE_SUM, code: SUM_WGSL, workgroups: groupsFor(Math.ceil(S / WG)) };
      return runWgsl(backend, prog, [x, starts], [{ shape: [S] }], [{ type: 'uint32', value: S }])[0];
    },
  });
}
