import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { runWgsl } from '../webgpu-program';
import {
  CLO_LOSS_BACKWARD,
  CLO_LOSS_FORWARD,
  CLO_LOSS_VALUES,
  registerCloLossGradient,
  type CloLossAttrs,
} from './clo-loss';

/**
 * The CLO loss on WebGPU (clo-loss.ts), one workgroup each way, whatever the batch (tfjs runs ~25 small
 * kernels forward and ~30 backward: the picks, concats, softplus, means and metrics of objectives/clo.ts):
 *   forward   each invocation takes the preference pairs k ≡ invocation (mod WG): rewards βΔ of chosen and
 *             rejected, margin, softplus(−margin) (tfjs's thresholds), margin > 0; and the sequences 4b+2:
 *             Σ log-probs and Σ counts; a tree in workgroup memory adds them; invocation 0 writes the
 *             loss λ·nll + (1 − λ)·pref and the values [loss, nll, pref, chosen, rejected, margins, acc]
 *   backward  the same workgroup sums the counts of the sequences 4b+2, then writes d policy per sequence:
 *             ∓ dy·(1 − λ)·β·σ(−margin)/(2B) for chosen/rejected, and − dy·λ/Σ counts on sequences 4b+2
 */
const WG = 64;

const COMMON = /* wgsl */ `
struct U { seqs: u32, beta: f32, lambda: f32, rest: f32 };
const SUMS = 7u;
var<workgroup> red: array<array<f32, ${WG}>, 7>;

// adds the invocations' partial sums of every row of red into element 0; every invocation calls it
fn reduce(lid: u32) {
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      for (var s = 0u; s < SUMS; s++) { red[s][lid] += red[s][lid + k]; }
    }
    workgroupBarrier();
  }
}

// the chosen and rejected sequences of preference pair k of the 2B (pairs = B)
fn chosenOf(k: u32, pairs: u32) -> u32 { return select(4u * k, 4u * (k - pairs) + 2u, k >= pairs); }

// tfjs's softplus (the same thresholds)
fn softplus(a: f32) -> f32 {
  let threshold = log(1.1920928955078125e-7) + 2.0;
  if (a > -threshold) { return a; }
  if (a < threshold) { return exp(a); }
  return log(exp(a) + 1.0);
}
`;

const FORWARD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> loss: array<f32>;
@group(0) @binding(1) var<storage, read_write> vals: array<f32>;
@group(0) @binding(2) var<storage, read> policy: array<f32>;
@group(0) @binding(3) var<storage, read> refp: array<f32>;
@group(0) @binding(4) var<storage, read> counts: array<f32>;
@group(0) @binding(5) var<uniform> params: U;
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let B = params.seqs / 4u;
  var acc: array<f32, 7>;
  for (var s = 0u; s < SUMS; s++) { acc[s] = 0.0; }
  for (var k = lid; k < 2u * B; k += ${WG}u) {
    let c = chosenOf(k, B);
    let r = c + 1u;
    let cr = (policy[c] - refp[c]) * params.beta;
    let rr = (policy[r] - refp[r]) * params.beta;
    let m = cr - rr;
    acc[0] += softplus(-m);
    acc[1] += cr;
    acc[2] += rr;
    acc[3] += m;
    acc[4] += select(0.0, 1.0, m > 0.0);
  }
  for (var b = lid; b < B; b += ${WG}u) {
    acc[5] += policy[4u * b + 2u];
    acc[6] += counts[4u * b + 2u];
  }
  for (var s = 0u; s < SUMS; s++) { red[s][lid] = acc[s]; }
  reduce(lid);
  if (lid == 0u) {
    let n = f32(2u * B);
    let pref = red[0][0] / n;
    let nll = -(red[5][0] / red[6][0]);
    let l = nll * params.lambda + pref * params.rest;
    loss[0] = l;
    vals[0] = l;
    vals[1] = nll;
    vals[2] = pref;
    vals[3] = red[1][0] / n;
    vals[4] = red[2][0] / n;
    vals[5] = red[3][0] / n;
    vals[6] = red[4][0] / n;
  }
}
`;

const BACKWARD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> dp: array<f32>;
@group(0) @binding(1) var<storage, read> policy: array<f32>;
@group(0) @binding(2) var<storage, read> refp: array<f32>;
@group(0) @binding(3) var<storage, read> counts: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<uniform> params: U;
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let B = params.seqs / 4u;
  var c = 0.0;
  for (var b = lid; b < B; b += ${WG}u) { c += counts[4u * b + 2u]; }
  for (var s = 0u; s < SUMS; s++) { red[s][lid] = 0.0; }
  red[0][lid] = c;
  reduce(lid);
  let g = dy[0];
  let dNll = -(g * params.lambda) / red[0][0];
  let dPref = g * params.rest / f32(2u * B);
  for (var k = lid; k < 2u * B; k += ${WG}u) {
    let ch = chosenOf(k, B);
    let rj = ch + 1u;
    let m = (policy[ch] - refp[ch]) * params.beta - (policy[rj] - refp[rj]) * params.beta;
    // d softplus(−m)/dm = −σ(−m)
    let d = dPref * params.beta / (1.0 + exp(m));
    dp[ch] = -d + select(0.0, dNll, k >= B);
    dp[rj] = d;
  }
}
`;

function uniforms(policy: tf.TensorInfo, a: CloLossAttrs) {
  return [
    { type: 'uint32' as const, value: tf.util.sizeFromShape(policy.shape) },
    { type: 'float32' as const, value: a.beta },
    { type: 'float32' as const, value: a.lambda },
    { type: 'float32' as const, value: 1 - a.lambda },
  ];
}

/** Registers the two kernels with tfjs for webgpu, the forward's gradient, and the op with the registry (idempotent). */
export function registerWebgpuCloLoss(): void {
  registerLabKernel({ op: 'clo-loss', backendName: 'webgpu', kernelName: CLO_LOSS_FORWARD, ready: () => true });
  registerCloLossGradient();
  if (tf.getKernel(CLO_LOSS_FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: CLO_LOSS_FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { policy, reference, counts } = inputs as Record<string, tf.TensorInfo>;
      const prog = { key: CLO_LOSS_FORWARD, code: FORWARD_WGSL, workgroups: [1, 1, 1] as [number, number, number] };
      return runWgsl(
        backend,
        prog,
        [policy, reference, counts],
        [{ shape: [] }, { shape: [CLO_LOSS_VALUES.length] }],
        uniforms(policy, attrs as unknown as CloLossAttrs),
      );
    },
  });
  tf.registerKernel({
    kernelName: CLO_LOSS_BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { policy, reference, counts, dy } = inputs as Record<string, tf.TensorInfo>;
      const prog = { key: CLO_LOSS_BACKWARD, code: BACKWARD_WGSL, workgroups: [1, 1, 1] as [number, number, number] };
      return runWgsl(
        backend,
        prog,
        [policy, reference, counts, dy],
        [{ shape: policy.shape }],
        uniforms(policy, attrs as unknown as CloLossAttrs),
      )[0];
    },
  });
}
