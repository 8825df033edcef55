import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl } from '../webgpu-program';
import { LOG_SOFTMAX_PICK, LOG_SOFTMAX_PICK_GRAD } from './head-logprobs';

/**
 * The head log-probs' log-softmax and target pick on WebGPU (head-logprobs.ts), one dispatch per block of
 * logits each way:
 *   PICK  one workgroup per row: a tree in workgroup memory takes the row's max, then Σ exp(l − max);
 *         invocation 0 reads the target's logit where the block holds it, folds in the running values of
 *         the blocks before (lse' = M + log(e^(lse − M) + Σ·e^(max − M)), M the larger) and writes lp, lse, tl
 *   GRAD  one invocation per logit: dy·(1[v0 + j = t] − exp(l − lse))
 * Plain f32, no subgroups (tfjs-webgpu 4.22 requests no 'subgroups' feature for its device).
 */
const WG = 64;

function pickWgsl(prev: boolean): string {
  return /* wgsl */ `
struct U { rows: u32, cols: u32, v0: i32, single: u32 };
@group(0) @binding(0) var<storage, read_write> lp: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read_write> tl: array<f32>;
@group(0) @binding(3) var<storage, read> l: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<i32>;
${
  prev
    ? `@group(0) @binding(5) var<storage, read> lse0: array<f32>;
@group(0) @binding(6) var<storage, read> tl0: array<f32>;
@group(0) @binding(7) var<uniform> params: U;`
    : '@group(0) @binding(5) var<uniform> params: U;'
}
${FLAT_GROUP_WGSL}
var<workgroup> red: array<f32, ${WG}>;

fn reduceMax(lid: u32) {
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { red[lid] = max(red[lid], red[lid + k]); }
    workgroupBarrier();
  }
}

fn reduceSum(lid: u32) {
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = groupIndex(wid, nwg);
  if (row >= params.rows) { return; }
  let n = params.cols;
  let base = row * n;
  var m = -3.402823e38;
  for (var j = lid; j < n; j += ${WG}u) { m = max(m, l[base + j]); }
  red[lid] = m;
  reduceMax(lid);
  let mx = red[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = lid; j < n; j += ${WG}u) { s += exp(l[base + j] - mx); }
  red[lid] = s;
  reduceSum(lid);
  if (lid == 0u) {
    let ls = log(red[0]);
    let j = targets[row] - params.v0;
    let inBlock = j >= 0 && u32(j) < n;
    var t = 0.0;
    if (inBlock) { t = l[base + u32(j)]; }
    if (params.single == 1u) {
      // as the reference's single block: (l_t − max) − log Σ, 0 for a target outside the vocabulary
      lp[row] = select(0.0, (t - mx) - ls, inBlock);
      lse[row] = mx + ls;
      tl[row] = t;
      return;
    }
    var e = mx + ls;
    ${
      prev
        ? `let e0 = lse0[row];
    let big = max(e0, mx);
    e = big + log(exp(e0 - big) + red[0] * exp(mx - big));
    t = t + tl0[row];`
        : ''
    }
    lse[row] = e;
    tl[row] = t;
    lp[row] = t - e;
  }
}
`;
}

const GRAD_WGSL = /* wgsl */ `
struct U { rows: u32, cols: u32, v0: i32, size: u32 };
@group(0) @binding(0) var<storage, read_write> dl: array<f32>;
@group(0) @binding(1) var<storage, read> l: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<uniform> params: U;
${FLAT_GROUP_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = groupIndex(wid, nwg) * ${WG}u + lid;
  if (i >= params.size) { return; }
  let row = i / params.cols;
  let j = i - row * params.cols;
  let hot = select(0.0, 1.0, targets[row] - params.v0 == i32(j));
  dl[i] = (hot - exp(l[i] - lse[row])) * dy[row];
}
`;

/** Registers the two kernels with tfjs for webgpu, and the op with the kernel registry (idempotent). */
export function registerWebgpuHeadLogprobs(): void {
  registerLabKernel({ op: 'head-logprobs', backendName: 'webgpu', kernelName: LOG_SOFTMAX_PICK, ready: () => true });
  if (tf.getKernel(LOG_SOFTMAX_PICK, 'webgpu')) return;
  tf.registerKernel({
    kernelName: LOG_SOFTMAX_PICK,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { l, targets, lse, tl } = inputs as Record<string, tf.TensorInfo | undefined>;
      const { v0, single } = attrs as unknown as { v0: number; single: boolean };
      const [rows, cols] = l!.shape;
      const prev = !!lse && !!tl;
      const prog = {
        key: `${LOG_SOFTMAX_PICK}${prev ? 'Prev' : ''}`,
        code: pickWgsl(prev),
        workgroups: groupsFor(rows),
      };
      return runWgsl(
        backend,
        prog,
        prev ? [l!, targets!, lse!, tl!] : [l!, targets!],
        [{ shape: [rows] }, { shape: [rows] }, { shape: [rows] }],
        [
          { type: 'uint32', value: rows },
          { type: 'uint32', value: cols },
          { type: 'int32', value: v0 },
          { type: 'uint32', value: single ? 1 : 0 },
        ],
      );
    },
  });
  tf.registerKernel({
    kernelName: LOG_SOFTMAX_PICK_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { l, targets, lse, dy } = inputs as Record<string, tf.TensorInfo>;
      const { v0 } = attrs as unknown as { v0: number };
      const [rows, cols] = l.shape;
      const size = rows * cols;
      const prog = { key: LOG_SOFTMAX_PICK_GRAD, code: GRAD_WGSL, workgroups: groupsFor(Math.ceil(size / WG)) };
      return runWgsl(
        backend,
        prog,
        [l, targets, lse, dy],
        [{ shape: l.shape }],
        [
          { type: 'uint32', value: rows },
          { type: 'uint32', value: cols },
          { type: 'int32', value: v0 },
          { type: 'uint32', value: size },
        ],
      )[0];
    },
  });
}
