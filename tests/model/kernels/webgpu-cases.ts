/**
 * The WebGPU kernel checks, one source for both places they run: Node (tests/model/kernels/<op>/webgpu.test.ts,
 * Dawn on SwiftShader) and Chromium (tests/e2e/kernel-check/page.ts, driven by tests/e2e/webgpu-kernels.spec.ts).
 * Each op has its cases (tiny shapes with tails: not multiples of the workgroup or tile sizes) and a check that
 * runs the WGSL kernel on the webgpu backend against the op's reference path and reduces the comparison to rows
 * {op, case, maxAbsDiff, tol, ok}: maxAbsDiff = max |kernel − reference| over one output or gradient, tol the
 * largest allowed (the case's relative tolerance times the reference's scale, in the same units; 0 where the
 * comparison is exact: flags, split pieces). A row is also not ok when the kernel did not run (the profile lacks
 * its tfjs kernel; for split, the lab's dispatches by pipeline key) or the reference is trivially small there (a
 * comparison that cannot fail); `note` says which.
 *
 * The caller sets the webgpu backend with the lab's kernels installed (installLabKernels('webgpu')) and sets it
 * back afterwards; packed matmul, attention, head log-probs, response rows, the CLO loss, LoRA linear and the
 * gradient statistics compute their reference on the cpu backend
 * (compiling its many shaders on SwiftShader would take most of a minute), switching backends in between and
 * ending on webgpu. No test framework here, and only asynchronous
 * reads (webgpu has no synchronous readback).
 */
import * as tf from '@tensorflow/tfjs';
import { adamwUpdate, referenceAdamw, type AdamwConstants } from '../../../src/lib/model/kernels/adamw/adamw';
import { attention, attentionHeads, autodiffAttention } from '../../../src/lib/model/kernels/attention/attention';
import { packMatrix } from '../../../src/lib/model/kernels/packed-matmul/pack';
import {
  packedMatMul,
  PackedWeight,
  referencePackedMatMul,
  releasePacked,
} from '../../../src/lib/model/kernels/packed-matmul/packed-matmul';
import { forceReference, type LabOp } from '../../../src/lib/model/kernels/registry';
import { referenceRmsNorm, rmsNorm } from '../../../src/lib/model/kernels/rmsnorm/rmsnorm';
import {
  addRmsNorm,
  addThenRmsNorm,
  referenceAddRmsNorm,
} from '../../../src/lib/model/kernels/add-rmsnorm/add-rmsnorm';
import { applyRope, referenceRope } from '../../../src/lib/model/kernels/rope/rope';
import { ropeTables } from '../../../src/lib/model/rope';
import { defaultConfig } from '../../../src/lib/model/config';
import { referenceSwiglu, swiglu } from '../../../src/lib/model/kernels/swiglu/swiglu';
import { headLogprobs, type ChunkOptions } from '../../../src/lib/model/logprobs';
import {
  gatherRows,
  SCATTER_ROWS,
  SEQUENCE_SUM,
  sequenceSums,
} from '../../../src/lib/model/kernels/response-rows/response-rows';
import { LOG_SOFTMAX_PICK, LOG_SOFTMAX_PICK_GRAD } from '../../../src/lib/model/kernels/head-logprobs/head-logprobs';
import {
  LORA_LINEAR_BACKWARD,
  LORA_LINEAR_FORWARD,
  loraLinear,
  loraLinears,
  referenceLoraLinear,
  type LoraApply,
} from '../../../src/lib/model/kernels/lora-linear/lora-linear';
import { GRAD_NORM_KERNEL, gradNorm, referenceGradNorm } from '../../../src/lib/model/kernels/grad-norm/grad-norm';
import { mulberry32 } from '../../../src/lib/model/sample';
import { clo } from '../../../src/lib/objectives/clo';
import { CLO_LOSS_BACKWARD, CLO_LOSS_FORWARD } from '../../../src/lib/model/kernels/clo-loss/clo-loss';
import type { Linear } from '../../../src/lib/model/weights';
import type { LoraPair } from '../../../src/lib/model/adapter';

/** The ops checked: the lab's kernel-seam ops, and 'split' (tfjs's SplitV replaced on webgpu, kernels/split/). */
export type CheckedOp = LabOp | 'split';

export interface CheckRow {
  op: CheckedOp;
  /** the case's label and the quantity compared, e.g. "[3, 7] (one partial workgroup): dg" */
  case: string;
  maxAbsDiff: number;
  tol: number;
  ok: boolean;
  /** why a row is not ok besides the tolerance: the kernel did not run, a trivial reference */
  note?: string;
}

/** How a quantity's tolerance scales: 'abs' 1; 'unit' max(1, max|ref|); 'ref' max|ref|. */
type Scale = 'abs' | 'unit' | 'ref';

interface Compared {
  name: string;
  got: Float32Array;
  want: Float32Array;
  relTol: number;
  scale: Scale;
  /** the reference must reach this max |value| (else the row is not ok: nothing was compared) */
  atLeast?: number;
}

const read = async (t: tf.Tensor): Promise<Float32Array> => Float32Array.from((await t.data()) as Float32Array);

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}

/** The rows of one case: one per quantity, each also failing when `missing` names kernels that did not run. */
function rows(op: CheckedOp, label: string, qs: Compared[], ran: string[], expected: string[]): CheckRow[] {
  const missing = expected.filter((k) => !ran.includes(k));
  return qs.map((q) => {
    let d = q.got.length === q.want.length ? 0 : Infinity;
    for (let i = 0; i < q.want.length && d < Infinity; i++) {
      const x = Math.abs(q.got[i] - q.want[i]);
      d = Number.isNaN(x) ? Infinity : Math.max(d, x);
    }
    const size = maxAbs(q.want);
    const tol = q.relTol * (q.scale === 'abs' ? 1 : q.scale === 'unit' ? Math.max(1, size) : size);
    const notes: string[] = [];
    if (missing.length) notes.push(`not run: ${missing.join(', ')}`);
    if (q.atLeast !== undefined && !(size >= q.atLeast)) notes.push(`reference max |x| ${size} < ${q.atLeast}`);
    const row: CheckRow = { op, case: `${label}: ${q.name}`, maxAbsDiff: d, tol, ok: d <= tol && !notes.length };
    if (notes.length) row.note = notes.join('; ');
    return row;
  });
}

/**
 * The names of the tfjs kernels `f` ran (tf.profile), what it returned, and the programs (WGSL dispatches,
 * by their pipeline key: the backend's timer names them in each kernel's extraInfo, "key: ms, key: ms").
 */
async function profiled<T extends tf.TensorContainer>(
  f: () => T,
): Promise<{ out: T; ran: string[]; programs: string[] }> {
  let out: T | undefined;
  const prof = await tf.profile(() => {
    out = f();
    return out;
  });
  const programs = prof.kernels.flatMap((k) =>
    String(k.extraInfo ?? '')
      .split(', ')
      .map((e) => e.replace(/: [^:]*$/, ''))
      .filter(Boolean),
  );
  return { out: out as T, ran: prof.kernels.map((k) => k.name), programs };
}

// ---- SwiGLU ----

export interface SwigluCase {
  label: string;
  N: number;
  H: number;
  /** the spread of g (large: σ saturates) */
  spread: number;
}

export const SWIGLU_CASES: SwigluCase[] = [
  { label: '[3, 7] (one partial workgroup)', N: 3, H: 7, spread: 2 },
  { label: '[17, 31] (3 workgroups, tail of 15)', N: 17, H: 31, spread: 2 },
  { label: '[2, 5], large |g| (σ saturates)', N: 2, H: 5, spread: 60 },
];

/** swiglu() on webgpu (the CloLabSwiGLU kernels) vs referenceSwiglu on webgpu: the value and both gradients. */
export async function checkSwiglu(c: SwigluCase): Promise<CheckRow[]> {
  const g = tf.randomNormal([c.N, c.H], 0, c.spread, 'float32', 5) as tf.Tensor2D;
  const u = tf.randomNormal([c.N, c.H], 0, 1, 'float32', 6) as tf.Tensor2D;
  const w = tf.randomNormal([c.N, c.H], 0, 1, 'float32', 7);
  // the gradients of sum(f(g, u)·w): w given as the output's cotangent
  const f = (a: tf.Tensor, b: tf.Tensor) => swiglu(a as tf.Tensor2D, b as tf.Tensor2D);
  const fRef = (a: tf.Tensor, b: tf.Tensor) => referenceSwiglu(a as tf.Tensor2D, b as tf.Tensor2D);
  const { out, ran } = await profiled(() => [f(g, u), ...tf.grads(f)([g, u], w)]);
  const want = [fRef(g, u), ...tf.grads(fRef)([g, u], w)];
  const names = ['value', 'dg', 'du'];
  const qs: Compared[] = [];
  for (let i = 0; i < 3; i++)
    qs.push({
      name: names[i],
      got: await read(out[i]),
      want: await read(want[i]),
      relTol: 2e-6,
      scale: 'unit',
      atLeast: i ? 1e-2 : undefined,
    });
  tf.dispose([g, u, w, ...out, ...want]);
  return rows('swiglu', c.label, qs, ran, ['CloLabSwiGLU', 'CloLabSwiGLUGrad']);
}

// ---- RMSNorm ----

export interface RmsNormCase {
  label: string;
  N: number;
  D: number;
  /** the spread of x (small: ε matters) */
  scale: number;
}

export const RMSNORM_CASES: RmsNormCase[] = [
  { label: '[3, 5] (row shorter than the workgroup)', N: 3, D: 5, scale: 1 },
  { label: '[5, 131] (two strides and a tail of 3)', N: 5, D: 131, scale: 3 },
  { label: '[70, 16] (many rows, small values: ε matters)', N: 70, D: 16, scale: 1e-3 },
];

/** rmsNorm() on webgpu (CloLabRMSNorm kernels) vs referenceRmsNorm on webgpu: the value and dx. */
export async function checkRmsNorm(c: RmsNormCase): Promise<CheckRow[]> {
  const eps = 1e-5;
  const x = tf.randomNormal([c.N, c.D], 0, c.scale, 'float32', 5) as tf.Tensor2D;
  const w = tf.randomNormal([c.D], 1, 0.5, 'float32', 6);
  const p = tf.randomNormal([c.N, c.D], 0, 1, 'float32', 7);
  // the gradient of sum(f(x)·p): p given as the output's cotangent
  const f = (a: tf.Tensor) => rmsNorm(a as tf.Tensor2D, w, eps);
  const fRef = (a: tf.Tensor) => referenceRmsNorm(a as tf.Tensor2D, w, eps);
  const { out, ran } = await profiled(() => [f(x), ...tf.grads(f)([x], p)]);
  const want = [fRef(x), ...tf.grads(fRef)([x], p)];
  const qs: Compared[] = [
    { name: 'value', got: await read(out[0]), want: await read(want[0]), relTol: 1e-5, scale: 'unit' },
    // relative to the gradient's own size (it is ~1/scale)
    { name: 'dx', got: await read(out[1]), want: await read(want[1]), relTol: 1e-5, scale: 'ref', atLeast: 1e-2 },
  ];
  tf.dispose([x, w, p, ...out, ...want]);
  return rows('rmsnorm', c.label, qs, ran, ['CloLabRMSNorm', 'CloLabRMSNormGrad']);
}

// ---- the residual add fused with RMSNorm ----

export interface AddRmsNormCase {
  label: string;
  N: number;
  D: number;
  /** the spread of the addends (small: ε matters) */
  scale: number;
  /** 'sum': the sum is used further (addRmsNorm, both outputs have a gradient); 'norm': only the norm (addThenRmsNorm) */
  form: 'sum' | 'norm';
}

export const ADD_RMSNORM_CASES: AddRmsNormCase[] = [
  { label: '[3, 5] (row shorter than the workgroup)', N: 3, D: 5, scale: 1, form: 'sum' },
  { label: '[5, 131] (two strides and a tail of 3)', N: 5, D: 131, scale: 3, form: 'sum' },
  { label: '[70, 16] (many rows, small values: ε matters)', N: 70, D: 16, scale: 1e-3, form: 'sum' },
  { label: '[4, 67] (the norm alone: no gradient of the sum)', N: 4, D: 67, scale: 2, form: 'norm' },
];

/**
 * addRmsNorm / addThenRmsNorm on webgpu (the CloLabAddRMSNorm kernels) vs referenceAddRmsNorm on webgpu: the
 * sum and the norm, and the gradients of a and b for the loss sum(s·q) + sum(norm·p) (only the second term
 * for the norm alone), so that dropping either term of the fused gradient fails.
 */
export async function checkAddRmsNorm(c: AddRmsNormCase): Promise<CheckRow[]> {
  const eps = 1e-5;
  const a = tf.randomNormal([c.N, c.D], 0, c.scale, 'float32', 5) as tf.Tensor2D;
  const b = tf.randomNormal([c.N, c.D], 0, c.scale, 'float32', 8) as tf.Tensor2D;
  const w = tf.randomNormal([c.D], 1, 0.5, 'float32', 6);
  const p = tf.randomNormal([c.N, c.D], 0, 1, 'float32', 7);
  // the sum's cotangent, at the norm's gradient's size (~1/scale)
  const q = tf.randomNormal([c.N, c.D], 0, 1 / c.scale, 'float32', 9);
  type Pair = (x: tf.Tensor2D, y: tf.Tensor2D) => { sum: tf.Tensor; normed: tf.Tensor };
  const kernel: Pair =
    c.form === 'sum'
      ? (x, y) => addRmsNorm(x, y, w, eps)
      : (x, y) => ({ sum: tf.add(x, y), normed: addThenRmsNorm(x, y, w, eps) });
  const reference: Pair = (x, y) => referenceAddRmsNorm(x, y, w, eps);
  const loss = (f: Pair) => (x: tf.Tensor, y: tf.Tensor) => {
    const o = f(x as tf.Tensor2D, y as tf.Tensor2D);
    const n = tf.sum(tf.mul(o.normed, p));
    return c.form === 'sum' ? tf.add(tf.sum(tf.mul(o.sum, q)), n) : n;
  };
  const { out, ran } = await profiled(() => {
    const o = kernel(a, b);
    return [o.sum, o.normed, ...tf.grads(loss(kernel))([a, b])];
  });
  const r = reference(a, b);
  const want = [r.sum, r.normed, ...tf.grads(loss(reference))([a, b])];
  const names = ['sum', 'value', 'da', 'db'];
  const qs: Compared[] = [];
  for (let i = 0; i < 4; i++)
    qs.push({
      name: names[i],
      got: await read(out[i]),
      want: await read(want[i]),
      relTol: 1e-5,
      // the gradients relative to their own size (~1/scale)
      scale: i < 2 ? 'unit' : 'ref',
      atLeast: i < 2 ? undefined : 1e-2,
    });
  tf.dispose([a, b, w, p, q, ...out, ...want]);
  return rows('add-rmsnorm', `${c.label}`, qs, ran, ['CloLabAddRMSNorm', 'CloLabAddRMSNormGrad']);
}

// ---- RoPE ----

export interface RopeCase {
  label: string;
  style: 'interleaved' | 'half';
  /** x [B, T, H, d] */
  dims: [number, number, number, number];
  /** the position of the first token (a step after a KV cache) */
  offset: number;
}

export const ROPE_CASES: RopeCase[] = [
  { label: 'interleaved [2, 5, 3, 8] (one partial workgroup)', style: 'interleaved', dims: [2, 5, 3, 8], offset: 0 },
  { label: 'half [1, 7, 2, 6] (odd half)', style: 'half', dims: [1, 7, 2, 6], offset: 0 },
  { label: 'half [2, 9, 5, 16] (3 workgroups with a tail, offset 4)', style: 'half', dims: [2, 9, 5, 16], offset: 4 },
];

/** applyRope() on webgpu (the CloLabRope kernel both ways) vs referenceRope on webgpu: the value and dx. */
export async function checkRope(c: RopeCase): Promise<CheckRow[]> {
  const [B, T, H, d] = c.dims;
  const cfg = defaultConfig({ dim: H * d, nLayers: 1, nHeads: H, vocabSize: 8, ropeStyle: c.style });
  const r = ropeTables(cfg, T, c.offset);
  const x = tf.randomNormal([B, T, H, d], 0, 1, 'float32', 21) as tf.Tensor4D;
  const p = tf.randomNormal([B, T, H, d], 0, 1, 'float32', 22);
  const f = (a: tf.Tensor) => applyRope(a as tf.Tensor4D, r);
  const fRef = (a: tf.Tensor) => referenceRope(a as tf.Tensor4D, r);
  const { out, ran } = await profiled(() => [f(x), ...tf.grads(f)([x], p)]);
  const want = [fRef(x), ...tf.grads(fRef)([x], p)];
  const qs: Compared[] = [
    { name: 'value', got: await read(out[0]), want: await read(want[0]), relTol: 1e-5, scale: 'unit', atLeast: 1 },
    { name: 'dx', got: await read(out[1]), want: await read(want[1]), relTol: 1e-5, scale: 'unit', atLeast: 1 },
  ];
  tf.dispose([x, p, r.cos, r.sin, r.rot, r.cs, ...out, ...want]);
  return rows('rope', c.label, qs, ran, ['CloLabRope']);
}

// ---- AdamW ----

export interface AdamwCase {
  label: string;
  n: number;
  rate: 'scalar' | 'vector';
  decay: number;
  clip: 'tensor' | 'number';
}

export const ADAMW_CASES: AdamwCase[] = [
  {
    label: 'n = 1000 (tail of 232), scalar rate, decay 0.01, clip a tensor',
    n: 1000,
    rate: 'scalar',
    decay: 0.01,
    clip: 'tensor',
  },
  { label: 'n = 5, per-element rate, decay 0.1, clip a number', n: 5, rate: 'vector', decay: 0.1, clip: 'number' },
  { label: 'n = 300, scalar rate, no decay', n: 300, rate: 'scalar', decay: 0, clip: 'number' },
];

const adamwConstants = (t: number, weightDecay: number): AdamwConstants => ({
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  bc1: 1 - 0.9 ** t,
  bc2: 1 - 0.999 ** t,
  weightDecay,
});

/**
 * adamwUpdate on webgpu (CloLabAdamW) vs referenceAdamw on webgpu: m, v and the step p − p0 after two steps
 * (the second with moments that no longer reduce to sign(g)); each step exactly one CloLabAdamW dispatch.
 */
export async function checkAdamw(c: AdamwCase): Promise<CheckRow[]> {
  const p0 = tf.randomNormal([c.n], 0, 1, 'float32', 1) as tf.Tensor1D;
  const rate = c.rate === 'scalar' ? 1e-2 : (tf.randomUniform([c.n], 1e-3, 1e-2, 'float32', 2) as tf.Tensor1D);
  const clip = c.clip === 'tensor' ? tf.scalar(0.5) : 0.7;
  let kern = { p: p0, m: tf.zeros([c.n]) as tf.Tensor1D, v: tf.zeros([c.n]) as tf.Tensor1D };
  let ref = { ...kern };
  const made: tf.Tensor[] = [kern.m, kern.v];
  let ran: string[] = [];
  for (let t = 1; t <= 2; t++) {
    const g = tf.randomNormal([c.n], 0, 1, 'float32', 10 + t) as tf.Tensor1D;
    const step = await profiled(() => adamwUpdate({ ...kern, g }, rate, clip, adamwConstants(t, c.decay)));
    kern = step.out;
    // one dispatch per step: a second CloLabAdamW in one step shows as a name never expected
    const n = step.ran.filter((k) => k === 'CloLabAdamW').length;
    ran = [...ran, ...step.ran.filter((k) => k !== 'CloLabAdamW'), ...(n === 1 ? [`CloLabAdamW@${t}`] : [])];
    ref = referenceAdamw({ ...ref, g }, rate, clip, adamwConstants(t, c.decay));
    made.push(g, kern.p, kern.m, kern.v, ref.p, ref.m, ref.v);
  }
  const [p0v, kp, rp] = await Promise.all([read(p0), read(kern.p), read(ref.p)]);
  const qs: Compared[] = [
    { name: 'm', got: await read(kern.m), want: await read(ref.m), relTol: 1e-6, scale: 'unit' },
    { name: 'v', got: await read(kern.v), want: await read(ref.v), relTol: 1e-6, scale: 'unit' },
    // the step itself (p − p0), relative to its size (~lr): p would hide it
    {
      name: 'p − p0',
      got: kp.map((x, i) => x - p0v[i]),
      want: rp.map((x, i) => x - p0v[i]),
      relTol: 1e-5,
      scale: 'ref',
      atLeast: 1e-3,
    },
  ];
  tf.dispose([p0, ...made]);
  if (typeof rate !== 'number') rate.dispose();
  if (typeof clip !== 'number') clip.dispose();
  return rows('adamw', c.label, qs, ran, ['CloLabAdamW@1', 'CloLabAdamW@2']);
}

// ---- packed matmul ----

export interface PackedMatMulCase {
  label: string;
  format: 'int8' | 'f16';
  /** x [M, K], W [N, K] */
  M: number;
  N: number;
  K: number;
}

/** Shapes not multiples of the 16 × 16 tile; int8 rows that straddle 4-byte words. */
const PACKED_SHAPES = [
  [1, 5, 7],
  [3, 16, 19],
  [17, 33, 30],
] as const;

export const PACKED_MATMUL_CASES: PackedMatMulCase[] = (['int8', 'f16'] as const).flatMap((format) =>
  PACKED_SHAPES.map(([M, N, K]) => ({ label: `${format} [${M}, ${N}, ${K}]`, format, M, N, K })),
);

/** Random normal values (seeded; the same on every backend), read back. */
async function randn(size: number, seed: number, sd = 1): Promise<Float32Array> {
  const t = tf.randomNormal([size], 0, sd, 'float32', seed);
  return read(t).finally(() => t.dispose());
}

/**
 * packedMatMul on webgpu (CloLabPackedMatMul, +GradX) vs referencePackedMatMul (W dequantised, tf.matMul) on
 * the cpu backend (tfjs compiles a matMul shader per shape, slowly on SwiftShader): y and dx; and the packing
 * error of the reference against the f32 product, which shows that the kernel read the packed matrix (a wrong
 * dequantisation is far off). Ends on webgpu.
 */
export async function checkPackedMatMul(c: PackedMatMulCase): Promise<CheckRow[]> {
  const { M, N, K } = c;
  const [w0, x0, r0] = await Promise.all([randn(N * K, 1, 0.3), randn(M * K, 2), randn(M * N, 3)]);
  const p = packMatrix(w0, N, K, c.format);
  const run = async (backend: string, f: typeof packedMatMul) => {
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
    const x = tf.tensor2d(x0, [M, K]);
    const r = tf.tensor2d(r0, [M, N]);
    // the gradient of sum(f(x)·r): r given as the output's cotangent
    const y = (xi: tf.Tensor) => f(xi as tf.Tensor2D, p);
    const { out, ran } = await profiled(() => [y(x), ...tf.grads(y)([x], r)]);
    if (backend === 'cpu') out.push(tf.tidy(() => tf.matMul(x, tf.tensor2d(w0, [N, K]), false, true))); // the f32 product
    const values = await Promise.all(out.map(read));
    tf.dispose([x, r, ...out]);
    return { values, ran };
  };
  try {
    const want = await run('cpu', referencePackedMatMul);
    const got = await run('webgpu', packedMatMul);
    const qs: Compared[] = [
      { name: 'y', got: got.values[0], want: want.values[0], relTol: 1e-5, scale: 'ref', atLeast: 1e-2 },
      { name: 'dx', got: got.values[1], want: want.values[1], relTol: 1e-5, scale: 'ref', atLeast: 1e-2 },
      {
        name: 'packing error (reference vs f32 W)',
        got: want.values[0],
        want: want.values[2],
        relTol: c.format === 'f16' ? 1e-2 : 5e-2,
        scale: 'ref',
      },
    ];
    return rows('packed-matmul', c.label, qs, got.ran, ['CloLabPackedMatMul', 'CloLabPackedMatMulGradX']);
  } finally {
    releasePacked(p);
  }
}

// ---- attention ----

export interface AttentionCase {
  label: string;
  layout: 'pairs' | 'heads';
  /** pairs: n pairs of G·T query rows over T keys; heads: B rows of T tokens, H query and Hkv kv heads */
  dims: { n?: number; G?: number; T: number; B?: number; H?: number; Hkv?: number };
  /** keys s ≥ padFrom[pair] masked too (pairs: one shared bias when absent) */
  padFrom?: number[];
  /** query t = 0 of every group also loses key 0: a row that sees no key */
  maskRow0?: boolean;
  /**
   * heads: RoPE folded into the kernel (attentionHeads with the tables; the reference applies referenceRope to
   * q and k first), with its pairing and the position of the first token
   */
  rope?: { style: 'interleaved' | 'half'; offset: number };
  seed: number;
}

/** One head dim (8), so that the five WGSL passes compile once. */
export const ATTENTION_HD = 8;

export const ATTENTION_CASES: AttentionCase[] = [
  {
    // rows G·T = 140 > one workgroup (64), keys 70 > one key tile (64 at hd 8), neither a multiple
    label: 'attention(): shared causal + padding bias, tails past a workgroup and a key tile',
    layout: 'pairs',
    dims: { n: 1, G: 2, T: 70 },
    padFrom: [66],
    seed: 1,
  },
  {
    // row b's padding, tiled over its KV heads; query t = 0 of every head sees no key
    label: 'attentionHeads(): projections layouts, kv-groups, per-pair padding, fully masked rows',
    layout: 'heads',
    dims: { B: 2, T: 5, H: 4, Hkv: 2 },
    padFrom: [5, 5, 3, 3],
    maskRow0: true,
    seed: 5,
  },
  {
    label: 'attentionHeads() + RoPE half, offset 3: kv-groups, per-pair padding, fully masked rows',
    layout: 'heads',
    dims: { B: 2, T: 5, H: 4, Hkv: 2 },
    padFrom: [5, 5, 3, 3],
    maskRow0: true,
    rope: { style: 'half', offset: 3 },
    seed: 9,
  },
  {
    label: 'attentionHeads() + RoPE interleaved: kv-groups G = 3',
    layout: 'heads',
    dims: { B: 1, T: 7, H: 3, Hkv: 1 },
    rope: { style: 'interleaved', offset: 0 },
    seed: 13,
  },
];

/**
 * A bias [pairs, G·T, S] (S = T) as an array: causal, and for pair p (with padFrom) keys s ≥ padFrom[p]
 * masked too; with maskRow0, query t = 0 of every group also loses key 0, so that row sees no key.
 */
export function attentionBias(n: number, G: number, T: number, padFrom: number[] | null, maskRow0 = false) {
  const S = T;
  const pairs = padFrom ? n : 1;
  const m = new Float32Array(pairs * G * T * S);
  for (let p = 0; p < pairs; p++)
    for (let g = 0; g < G; g++)
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++) {
          let b = s > t ? -1e9 : 0;
          if (padFrom && s >= padFrom[p]) b += -1e9;
          if (maskRow0 && t === 0 && s === 0) b = -1e9;
          m[((p * G + g) * T + t) * S + s] = b;
        }
  return { data: m, shape: [pairs, G * T, S] as [number, number, number] };
}

type Qkv = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;

/** The kernel's and the reference's function of (q, k, v), and the shapes of q, k, v and the cotangent. */
function attentionRuns(c: AttentionCase): { kernel: Qkv; reference: Qkv; shapes: number[][] } {
  const hd = ATTENTION_HD;
  const scale = 1 / Math.sqrt(hd);
  const d = c.dims;
  if (c.layout === 'pairs') {
    const [n, G, T] = [d.n!, d.G!, d.T];
    const b = attentionBias(n, G, T, c.padFrom ?? null, c.maskRow0);
    const withBias =
      (f: typeof attention): Qkv =>
      (q, k, v) =>
        f(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, tf.tensor3d(b.data, b.shape), scale);
    return {
      kernel: withBias(attention),
      reference: withBias(autodiffAttention),
      shapes: [
        [n, G * T, hd],
        [n, T, hd],
        [n, T, hd],
        [n, G * T, hd],
      ],
    };
  }
  const [B, T, H, Hkv] = [d.B!, d.T, d.H!, d.Hkv!];
  const G = H / Hkv;
  const b = attentionBias(B * Hkv, G, T, c.padFrom ?? null, c.maskRow0);
  const rc = c.rope;
  // the tables on the backend that runs (made when called)
  const tables = () =>
    rc
      ? ropeTables(
          defaultConfig({ dim: H * hd, nLayers: 1, nHeads: H, vocabSize: 8, ropeStyle: rc.style }),
          T,
          rc.offset,
        )
      : null;
  // the reference path of model/forward.ts: RoPE, fold the G query heads into the rows, attention, unfold
  const reference: Qkv = (q0, k0, vv) => {
    const r = tables();
    const [qq, kk] = r ? [referenceRope(q0 as tf.Tensor4D, r), referenceRope(k0 as tf.Tensor4D, r)] : [q0, k0];
    const qg = tf.transpose(qq, [0, 2, 1, 3]).reshape([B * Hkv, G * T, hd]) as tf.Tensor3D;
    const kg = tf.transpose(kk, [0, 2, 1, 3]).reshape([B * Hkv, T, hd]) as tf.Tensor3D;
    const vg = tf.transpose(vv, [0, 2, 1, 3]).reshape([B * Hkv, T, hd]) as tf.Tensor3D;
    return autodiffAttention(qg, kg, vg, tf.tensor3d(b.data, b.shape), scale)
      .reshape([B, H, T, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * T, H * hd]);
  };
  const kernel: Qkv = (qq, kk, vv) => {
    const out = attentionHeads(
      qq as tf.Tensor4D,
      kk as tf.Tensor4D,
      vv as tf.Tensor4D,
      tf.tensor3d(b.data, b.shape),
      scale,
      tables(),
    );
    if (!out) throw new Error('attentionHeads: the kernel registry chose the reference path on webgpu');
    return out;
  };
  return {
    kernel,
    reference,
    shapes: [
      [B, T, H, hd],
      [B, T, Hkv, hd],
      [B, T, Hkv, hd],
      [B * T, H * hd],
    ],
  };
}

/** The value of f and the gradients of sum(f(q, k, v)·w) on `backend`, read back, and the kernels that ran. */
async function valuesAndGrads(
  backend: string,
  f: Qkv,
  shapes: number[][],
  data: Float32Array[],
): Promise<{ values: Float32Array[]; ran: string[] }> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
  const [q, k, v, w] = shapes.map((s, i) => tf.tensor(data[i], s));
  const { out, ran } = await profiled(() => [f(q, k, v), ...tf.grads(f)([q, k, v], w)]);
  const values = await Promise.all(out.map(read));
  tf.dispose([q, k, v, w, ...out]);
  return { values, ran };
}

/**
 * attention() / attentionHeads() on webgpu (CloLabAttention, +Grad) vs autodiffAttention on the cpu backend:
 * the output within 1e-5 and the gradients of q, k, v within 2e-5 (absolute); with RoPE, against referenceRope
 * then autodiffAttention (the gradients of q and k those of the unrotated projections), and CloLabRope must not
 * have run. Ends on webgpu.
 */
export async function checkAttention(c: AttentionCase): Promise<CheckRow[]> {
  const { kernel, reference, shapes } = attentionRuns(c);
  await tf.setBackend('cpu');
  const data = await Promise.all(
    shapes.map((s, i) =>
      randn(
        s.reduce((x, y) => x * y),
        c.seed + i,
      ),
    ),
  );
  const want = await valuesAndGrads('cpu', reference, shapes, data);
  const got = await valuesAndGrads('webgpu', kernel, shapes, data);
  const names = ['out', 'dq', 'dk', 'dv'];
  const qs = names.map((name, i): Compared => ({
    name,
    got: got.values[i],
    want: want.values[i],
    relTol: i ? 2e-5 : 1e-5,
    scale: 'abs',
    atLeast: i ? 1e-2 : undefined,
  }));
  // with RoPE, the kernel rotates q and k itself: CloLabRope must not run
  const folded = 'RoPE folded in (no CloLabRope)';
  const ran = c.rope && !got.ran.includes('CloLabRope') ? [...got.ran, folded] : got.ran;
  const expected = ['CloLabAttention', 'CloLabAttentionGrad', ...(c.rope ? [folded] : [])];
  return rows('attention', c.label, qs, ran, expected);
}

// ---- head log-probs ----

export interface HeadLogprobsCase {
  label: string;
  /** h [N, D], W [V, D] */
  N: number;
  D: number;
  V: number;
  /** one per row; outside [0, V) gives log-prob 0 on the single-block path (the reference's all-zero one-hot row) */
  targets: number[];
  /** row and vocabulary blocks (headLogprobs' options; default one block of each) */
  chunk?: ChunkOptions;
}

export const HEAD_LOGPROBS_CASES: HeadLogprobsCase[] = [
  {
    label: '[5, 70] × [130, 70]: rows past one workgroup (64), a target outside',
    N: 5,
    D: 70,
    V: 130,
    targets: [0, 129, 64, 17, -1],
  },
  {
    label: '[7, 12] × [150, 12] in vocabulary blocks of 64 (a tail of 22)',
    N: 7,
    D: 12,
    V: 150,
    targets: [0, 63, 64, 149, 128, 100, 5],
    chunk: { vocabChunk: 64 },
  },
];

async function headRun(backend: string, c: HeadLogprobsCase, h0: Float32Array, w0: Float32Array, dy0: Float32Array) {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
  const h = tf.tensor2d(h0, [c.N, c.D]);
  const w = tf.tensor2d(w0, [c.V, c.D]);
  const t = tf.tensor1d(Int32Array.from(c.targets), 'int32');
  const dy = tf.tensor1d(dy0);
  const f = (x: tf.Tensor) => headLogprobs(x as tf.Tensor2D, w, t, c.chunk);
  const { out, ran } = await profiled(() => [f(h), ...tf.grads(f)([h], dy)]);
  const values = await Promise.all(out.map(read));
  tf.dispose([h, w, t, dy, ...out]);
  return { values, ran };
}

/**
 * headLogprobs on webgpu (tfjs's products, the CloLabLogSoftmaxPick kernels over each block of logits) vs
 * headLogprobs on the cpu backend (the blocked reference): log-probs and d h within 2e-5. Ends on webgpu.
 */
export async function checkHeadLogprobs(c: HeadLogprobsCase): Promise<CheckRow[]> {
  await tf.setBackend('cpu');
  const [h, w, dy] = await Promise.all([randn(c.N * c.D, 1), randn(c.V * c.D, 2, 0.3), randn(c.N, 3)]);
  const want = await headRun('cpu', c, h, w, dy);
  const got = await headRun('webgpu', c, h, w, dy);
  const qs: Compared[] = [
    { name: 'log-probs', got: got.values[0], want: want.values[0], relTol: 2e-5, scale: 'unit', atLeast: 1 },
    { name: 'dh', got: got.values[1], want: want.values[1], relTol: 2e-5, scale: 'abs', atLeast: 1e-1 },
  ];
  return rows('head-logprobs', c.label, qs, got.ran, [LOG_SOFTMAX_PICK, LOG_SOFTMAX_PICK_GRAD]);
}

// ---- response rows ----

export interface ResponseRowsCase {
  label: string;
  /** x [N, D]; the rows gathered (ascending), and the sequence starts over them */
  N: number;
  D: number;
  rows: number[];
  starts: number[];
}

export const RESPONSE_ROWS_CASES: ResponseRowsCase[] = [
  {
    label: '[9, 70] (a row past one workgroup), 5 rows in 3 sequences, one empty',
    N: 9,
    D: 70,
    rows: [1, 2, 3, 6, 8],
    starts: [0, 3, 3, 5],
  },
  {
    label: '[130, 3]: 70 sequences (past one workgroup) of one row, 60 rows left out',
    N: 130,
    D: 3,
    rows: Array.from({ length: 70 }, (_, i) => 2 * i - (i > 59 ? i - 59 : 0)),
    starts: Array.from({ length: 71 }, (_, i) => i),
  },
];

/** gatherRows then sequenceSums of the row sums weighted by `p`, and the gradient for x (cotangent q per sequence). */
function responseRowsRun(c: ResponseRowsCase, x: tf.Tensor2D, p: tf.Tensor2D, q: tf.Tensor1D, reference: boolean) {
  const idx = tf.tensor1d(Int32Array.from(c.rows), 'int32');
  const seq = tf.tensor1d(
    Int32Array.from(c.rows.map((_, j) => c.starts.findIndex((s, k) => j >= s && j < c.starts[k + 1]))),
    'int32',
  );
  const S = c.starts.length - 1;
  const f = (a: tf.Tensor) => {
    const g = reference ? tf.gather(a, idx) : gatherRows(a as tf.Tensor2D, Int32Array.from(c.rows));
    const y = tf.sum(tf.mul(g, p), 1) as tf.Tensor1D;
    return reference ? tf.unsortedSegmentSum(y, seq, S) : sequenceSums(y, Int32Array.from(c.starts));
  };
  const out = [f(x), ...tf.grads(f)([x], q)];
  tf.dispose([idx, seq]);
  return out;
}

/**
 * gatherRows and sequenceSums on webgpu (CloLabScatterRows, CloLabSequenceSum) vs tf.gather and
 * tf.unsortedSegmentSum with tfjs's gradients on the cpu backend: the sums and d x (zero rows where not
 * gathered). Ends on webgpu.
 */
export async function checkResponseRows(c: ResponseRowsCase): Promise<CheckRow[]> {
  await tf.setBackend('cpu');
  const M = c.rows.length;
  const S = c.starts.length - 1;
  const [x0, p0, q0] = await Promise.all([randn(c.N * c.D, 31), randn(M * c.D, 32), randn(S, 33)]);
  const run = async (backend: string, reference: boolean) => {
    await tf.setBackend(backend);
    const x = tf.tensor2d(x0, [c.N, c.D]);
    const p = tf.tensor2d(p0, [M, c.D]);
    const q = tf.tensor1d(q0);
    const { out, ran } = await profiled(() => responseRowsRun(c, x, p, q, reference));
    const values = await Promise.all(out.map(read));
    tf.dispose([x, p, q, ...out]);
    return { values, ran };
  };
  const want = await run('cpu', true);
  const got = await run('webgpu', false);
  const qs: Compared[] = [
    { name: 'sums', got: got.values[0], want: want.values[0], relTol: 1e-5, scale: 'unit', atLeast: 1 },
    { name: 'dx', got: got.values[1], want: want.values[1], relTol: 1e-6, scale: 'unit', atLeast: 1 },
  ];
  return rows('response-rows', c.label, qs, got.ran, [SCATTER_ROWS, SEQUENCE_SUM]);
}

// ---- LoRA linear ----

export interface LoraLinearCase {
  label: string;
  /** x [N, inF], W [outF, inF], A [r, inF], B [outF, r] */
  N: number;
  inF: number;
  outF: number;
  r: number;
  bias: boolean;
  /** W as f32, or packed */
  fmt: 'f32' | 'f16' | 'int8';
  /** dropout on the adapter's input */
  dropout?: number;
}

export const LORA_LINEAR_CASES: LoraLinearCase[] = [
  { label: 'tails past one tile, rank 1', N: 17, inF: 19, outF: 18, r: 1, bias: false, fmt: 'f32' },
  { label: 'f16 W, rank 8, bias, r·in > 256', N: 18, inF: 40, outF: 20, r: 8, bias: true, fmt: 'f16' },
  { label: 'int8 W, rank 2', N: 5, inF: 22, outF: 17, r: 2, bias: false, fmt: 'int8' },
  { label: 'dropout, rank 8, bias', N: 9, inF: 17, outF: 19, r: 8, bias: true, fmt: 'f32', dropout: 0.3 },
  // d in a dispatch of its own (above rank 16; int8 with dropout and bias would bind 9 buffers)
  { label: 'int8 W, rank 20, dropout, bias', N: 6, inF: 13, outF: 10, r: 20, bias: true, fmt: 'int8', dropout: 0.5 },
];

/**
 * loraLinear on webgpu (CloLabLoraLinear, +Grad) vs referenceLoraLinear on the cpu backend (tfjs compiles a
 * matMul shader per shape, slowly on SwiftShader): y and the gradients dx, dA, dB of sum(y·R). The dropout
 * mask is seeded, the same on both backends. Ends on webgpu.
 */
export async function checkLoraLinear(c: LoraLinearCase): Promise<CheckRow[]> {
  const { N, inF, outF, r } = c;
  const [w0, b0, x0, a0, bm0, r0] = await Promise.all([
    randn(outF * inF, 1, 0.3),
    randn(outF, 2),
    randn(N * inF, 3),
    randn(r * inF, 4, 0.5),
    randn(outF * r, 5, 0.5),
    randn(N * outF, 6),
  ]);
  const packed = c.fmt === 'f32' ? null : packMatrix(w0, outF, inF, c.fmt);
  const run = async (backend: string, f: typeof loraLinear) => {
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
    const pw = packed ? new PackedWeight(packed) : null;
    const lin: Linear = { w: pw ?? tf.tensor2d(w0, [outF, inF]), b: c.bias ? tf.tensor1d(b0) : undefined };
    const x = tf.tensor2d(x0, [N, inF]);
    const A = tf.tensor2d(a0, [r, inF]);
    const B = tf.tensor2d(bm0, [outF, r]);
    const R = tf.tensor2d(r0, [N, outF]);
    const lora = (a: tf.Tensor, b: tf.Tensor): LoraApply => ({
      pair: { A: a, B: b } as unknown as LoraPair,
      scale: 16 / r,
      dropout: c.dropout ?? 0,
      seed: 7,
    });
    // the gradients of sum(y·R): R given as the output's cotangent
    const y = (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => f(xi as tf.Tensor2D, lin, lora(a, b));
    const { out, ran } = await profiled(() => [y(x, A, B), ...tf.grads(y)([x, A, B], R)]);
    const values = await Promise.all(out.map(read));
    tf.dispose([x, A, B, R, ...out]);
    if (pw) pw.dispose();
    else (lin.w as tf.Tensor).dispose();
    lin.b?.dispose();
    return { values, ran };
  };
  const want = await run('cpu', referenceLoraLinear);
  const got = await run('webgpu', loraLinear);
  const qs = ['y', 'dx', 'dA', 'dB'].map((name, i): Compared => ({
    name,
    got: got.values[i],
    want: want.values[i],
    relTol: 1e-5,
    scale: 'unit',
    atLeast: i ? 1e-2 : undefined,
  }));
  return rows('lora-linear', c.label, qs, got.ran, [LORA_LINEAR_FORWARD, LORA_LINEAR_BACKWARD]);
}

/** A group of LoRA linears reading one x (a layer's q, k and v): one [outF, fmt, bias] per item, rank r. */
export interface LoraLinearGroupCase {
  label: string;
  N: number;
  inF: number;
  r: number;
  items: [number, 'f32' | 'f16', boolean][];
}

export const LORA_LINEAR_GROUP_CASES: LoraLinearGroupCase[] = [
  {
    label: 'group of 3 (q, k, v shapes), f32 and f16 W, one bias, tails',
    N: 17,
    inF: 19,
    r: 4,
    items: [
      [18, 'f32', false],
      [10, 'f16', true],
      [10, 'f32', false],
    ],
  },
];

/**
 * loraLinears on webgpu (the items' CloLabLoraLinear kernels, x's gradient summed inside their backward
 * kernels) vs referenceLoraLinear per item on the cpu backend, x's gradient summed by tfjs: every y, dx,
 * and each item's dA and dB, for the cotangents R_i of sum(Σ y_i·R_i). Also a row that fails where the
 * webgpu backward ran any Add (the sum must be in the kernels). Ends on webgpu.
 */
export async function checkLoraLinearGroup(c: LoraLinearGroupCase): Promise<CheckRow[]> {
  const { N, inF, r } = c;
  const x0 = await randn(N * inF, 3);
  const per = await Promise.all(
    c.items.map(async ([outF], i) => ({
      w: await randn(outF * inF, 10 + i, 0.3),
      b: await randn(outF, 20 + i),
      a: await randn(r * inF, 30 + i, 0.5),
      bm: await randn(outF * r, 40 + i, 0.5),
      cot: await randn(N * outF, 50 + i),
    })),
  );
  const run = async (backend: string, grouped: boolean) => {
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
    const lins: Linear[] = c.items.map(([outF, fmt, bias], i) => ({
      w: fmt === 'f32' ? tf.tensor2d(per[i].w, [outF, inF]) : new PackedWeight(packMatrix(per[i].w, outF, inF, fmt)),
      b: bias ? tf.tensor1d(per[i].b) : undefined,
    }));
    const x = tf.tensor2d(x0, [N, inF]);
    const AB = c.items.flatMap(([outF], i) => [tf.tensor2d(per[i].a, [r, inF]), tf.tensor2d(per[i].bm, [outF, r])]);
    const R = c.items.map(([outF], i) => tf.tensor2d(per[i].cot, [N, outF]));
    const lora = (i: number, ab: tf.Tensor[]): LoraApply => ({
      pair: { A: ab[2 * i], B: ab[2 * i + 1] } as unknown as LoraPair,
      scale: 16 / r,
      dropout: 0,
    });
    const ys = (xi: tf.Tensor, ab: tf.Tensor[]) =>
      grouped
        ? loraLinears(
            xi as tf.Tensor2D,
            lins.map((lin, i) => ({ lin, lora: lora(i, ab) })),
          )
        : lins.map((lin, i) => referenceLoraLinear(xi as tf.Tensor2D, lin, lora(i, ab)));
    const loss = (xi: tf.Tensor, ...ab: tf.Tensor[]) =>
      tf.addN(ys(xi, ab).map((y, i) => tf.sum(tf.mul(y, R[i])))) as tf.Scalar;
    const forward = await profiled(() => ys(x, AB));
    const backward = await profiled(() => tf.grads(loss)([x, ...AB]));
    const values = await Promise.all([...forward.out, ...backward.out].map(read));
    tf.dispose([x, ...AB, ...R, ...forward.out, ...backward.out]);
    for (const lin of lins) {
      if (lin.w instanceof PackedWeight) lin.w.dispose();
      else (lin.w as tf.Tensor).dispose();
      lin.b?.dispose();
    }
    return { values, ran: [...forward.ran, ...backward.ran] };
  };
  const want = await run('cpu', false);
  const got = await run('webgpu', true);
  const n = c.items.length;
  const names = [...c.items.map((_, i) => `y${i}`), 'dx', ...c.items.flatMap((_, i) => [`dA${i}`, `dB${i}`])];
  const qs = names.map((name, i): Compared => ({
    name,
    got: got.values[i],
    want: want.values[i],
    relTol: 2e-5,
    scale: 'unit',
    atLeast: i >= n ? 1e-2 : undefined,
  }));
  const out = rows('lora-linear', c.label, qs, got.ran, [LORA_LINEAR_FORWARD, LORA_LINEAR_BACKWARD]);
  // the loss's own ops add nothing (AddN forward, Sum and Mul gradients): any Add would be tfjs summing dx
  const adds = got.ran.filter((k) => k === 'Add').length;
  out.push({
    op: 'lora-linear',
    case: `${c.label}: Add kernels run beside the group`,
    maxAbsDiff: adds,
    tol: 0,
    ok: !adds,
  });
  return out;
}

// ---- gradient statistics ----

export interface GradNormCase {
  label: string;
  /** the length of g and p */
  n: number;
  clipNorm: number;
  /** non-finite values put in g or p */
  bad?: { in: 'g' | 'p'; at: number; value: number }[];
  /** the finite flags (g, p) the case gives */
  flags: [number, number];
}

/** Above 256 workgroups of 256: each invocation strides over several elements. */
const GRAD_NORM_N = 70_001;

export const GRAD_NORM_CASES: GradNormCase[] = [
  { label: 'n = 5 (below one workgroup), clip at 1', n: 5, clipNorm: 1, flags: [1, 1] },
  { label: 'n = 1000 (a tail), clip at 0.5', n: 1000, clipNorm: 0.5, flags: [1, 1] },
  { label: `n = ${GRAD_NORM_N} (strided), clip at 1e6`, n: GRAD_NORM_N, clipNorm: 1e6, flags: [1, 1] },
  ...(
    [
      ['NaN in g, last element', [{ in: 'g', at: GRAD_NORM_N - 1, value: NaN }], [0, 1]],
      ['+Inf in g, first element', [{ in: 'g', at: 0, value: Infinity }], [0, 1]],
      ['NaN in p, a middle element', [{ in: 'p', at: 33_333, value: NaN }], [1, 0]],
      ['−Inf in p, last element', [{ in: 'p', at: GRAD_NORM_N - 1, value: -Infinity }], [1, 0]],
      [
        '−Inf in g and +Inf in p',
        [
          { in: 'g', at: 65_536, value: -Infinity },
          { in: 'p', at: 7, value: Infinity },
        ],
        [0, 0],
      ],
    ] as [string, GradNormCase['bad'], [number, number]][]
  ).map(([label, bad, flags]) => ({ label: `n = ${GRAD_NORM_N}, ${label}`, n: GRAD_NORM_N, clipNorm: 1, bad, flags })),
];

/** g and p of the case (seeded), with its non-finite values put in. */
function gradNormVectors(c: GradNormCase): { g: Float32Array; p: Float32Array } {
  const r = mulberry32(c.n);
  const g = Float32Array.from({ length: c.n }, () => (r() - 0.5) * 0.2);
  const p = Float32Array.from({ length: c.n }, () => r() * 2 - 1);
  for (const b of c.bad ?? []) (b.in === 'g' ? g : p)[b.at] = b.value;
  return { g, p };
}

/**
 * gradNorm on webgpu (CloLabGradNorm, the only tfjs kernel it runs) vs referenceGradNorm on the cpu backend:
 * the finite flags (and the reference's = the case's); with finite gradients the norm and the clip scale, and
 * the clip scale exactly 1 where the norm is within clipNorm; else a non-finite norm. Ends on webgpu.
 */
export async function checkGradNorm(c: GradNormCase): Promise<CheckRow[]> {
  const v = gradNormVectors(c);
  const run = async (backend: string, f: typeof gradNorm) => {
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
    const g = tf.tensor1d(v.g);
    const p = tf.tensor1d(v.p);
    const { out, ran } = await profiled(() => f(g, p, c.clipNorm));
    const values = await read(out);
    tf.dispose([g, p, out]);
    return { values, ran };
  };
  const want = await run('cpu', referenceGradNorm);
  const got = await run('webgpu', gradNorm);
  const [kClip, kNorm] = got.values;
  const [rClip, rNorm] = want.values;
  const exact = (name: string, a: ArrayLike<number>, b: ArrayLike<number>): Compared => ({
    name,
    got: Float32Array.from(a),
    want: Float32Array.from(b),
    relTol: 0,
    scale: 'abs',
  });
  const qs: Compared[] = [
    exact('finite flags (g, p)', got.values.slice(2), want.values.slice(2)),
    exact("the reference's flags = the case's", want.values.slice(2), c.flags),
  ];
  if (c.flags[0] === 1)
    qs.push(
      { name: 'norm', got: Float32Array.of(kNorm), want: Float32Array.of(rNorm), relTol: 1e-5, scale: 'ref' },
      { name: 'clip scale', got: Float32Array.of(kClip), want: Float32Array.of(rClip), relTol: 1e-5, scale: 'ref' },
      exact('clip scale 1 exactly where norm ≤ clipNorm', [kClip === 1 ? 1 : 0], [rNorm <= c.clipNorm ? 1 : 0]),
    );
  else qs.push(exact('norm finite (no)', [Number.isFinite(kNorm) ? 1 : 0], [0]));
  // one kernel and nothing else: any other tfjs kernel in the run shows as a name never expected
  const ran = got.ran.join() === GRAD_NORM_KERNEL ? [`${GRAD_NORM_KERNEL} alone`] : got.ran;
  return rows('grad-norm', c.label, qs, ran, [`${GRAD_NORM_KERNEL} alone`]);
}

// ---- split ----

export interface SplitCase {
  label: string;
  shape: number[];
  sizes: number[];
  axis: number;
  dtype?: 'int32';
}

export const SPLIT_CASES: SplitCase[] = [
  {
    label: '1-D, 20 uneven pieces (more than one dispatch binds)',
    shape: [20 * 21],
    sizes: Array.from({ length: 20 }, (_, i) => 2 * i + 2),
    axis: 0,
  },
  { label: 'a 3-D tensor along its middle axis', shape: [3, 10, 4], sizes: [1, 6, 3], axis: 1 },
  { label: 'a matrix along its last axis, 9 pieces', shape: [5, 30], sizes: [1, 2, 3, 4, 5, 6, 3, 4, 2], axis: 1 },
  { label: 'int32', shape: [6, 7], sizes: [2, 4], axis: 0, dtype: 'int32' },
  { label: 'an empty piece (tfjs’s own SplitV)', shape: [50], sizes: [10, 0, 40], axis: 0 },
];

/** The pieces of x (values in row-major order, shape) split along `axis` by `sizes`, computed by index. */
export function splitBlocks(values: number[], shape: number[], sizes: number[], axis: number): number[][] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const rowLen = shape[axis] * inner;
  let c = 0;
  return sizes.map((s) => {
    const piece: number[] = [];
    for (let r = 0; r < outer; r++) piece.push(...values.slice(r * rowLen + c, r * rowLen + c + s * inner));
    c += s * inner;
    return piece;
  });
}

/** The input of a split case on webgpu, made by a GPU kernel (tfjs splits small tensors it holds on the CPU there). */
export function splitInput(c: SplitCase): { x: tf.Tensor; values: number[] } {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => (c.dtype === 'int32' ? i - 7 : i * 0.25 - 3));
  const x = tf.tidy(() => {
    const y = tf.matMul(tf.tensor2d(values, [n, 1]), tf.ones([1, 1])).reshape(c.shape);
    return c.dtype === 'int32' ? y.cast('int32') : y;
  });
  return { x, values };
}

/** The lab's SplitV writes at most this many pieces a dispatch (kernels/split/webgpu.ts), fewer where the device binds fewer. */
const SPLIT_MAX_PIECES = 15;

/**
 * tf.split on webgpu (the lab's SplitV, kernels/split/webgpu.ts) vs the input's blocks computed by index:
 * the pieces' values and their shapes and dtype, exactly; and its dispatches, by pipeline key
 * (CloLabSplit<k>, one per group of k pieces the device binds; none where tfjs's own SplitV takes the split).
 */
export async function checkSplit(c: SplitCase): Promise<CheckRow[]> {
  const { x, values } = splitInput(c);
  const limit = (tf.backend() as unknown as { device: GPUDevice }).device.limits.maxStorageBuffersPerShaderStage;
  const perDispatch = Math.max(1, Math.min(SPLIT_MAX_PIECES, limit - 1));
  const { out: pieces, ran, programs } = await profiled(() => tf.split(x, c.sizes, c.axis));
  const got = await Promise.all(pieces.map(read));
  const blocks = splitBlocks(values, c.shape, c.sizes, c.axis);
  const dtype = c.dtype ?? 'float32';
  const shapeOf = (s: number) => c.shape.map((d, i) => (i === c.axis ? s : d));
  const qs: Compared[] = [
    {
      name: 'pieces = the blocks by index',
      got: Float32Array.from(got.flatMap((p) => Array.from(p))),
      want: Float32Array.from(blocks.flat()),
      relTol: 0,
      scale: 'abs',
    },
    {
      name: 'shapes and dtype (1: as given)',
      got: Float32Array.from(pieces.flatMap((p) => [...p.shape, p.dtype === dtype ? 1 : 0])),
      want: Float32Array.from(c.sizes.flatMap((s) => [...shapeOf(s), 1])),
      relTol: 0,
      scale: 'abs',
    },
  ];
  tf.dispose([x, ...pieces]);
  const groups: string[] = [];
  if (!c.sizes.includes(0))
    for (let i = 0; i < c.sizes.length; i += perDispatch)
      groups.push(`CloLabSplit${Math.min(perDispatch, c.sizes.length - i)}`);
  const dispatches = (keys: string[]) => `lab split dispatches [${keys.join(', ')}]`;
  const ranSplit = [...ran, dispatches(programs.filter((k) => k.startsWith('CloLabSplit')))];
  return rows('split', c.label, qs, ranSplit, ['SplitV', dispatches(groups)]);
}

// ---- CLO loss ----

export interface CloLossCase {
  label: string;
  /** B quadruples: 4B sequences */
  B: number;
  beta: number;
  lambda: number;
  /** the spread of the policy − reference differences (large: softplus past its thresholds) */
  spread: number;
  /** the cotangent of the loss */
  dy: number;
}

export const CLO_LOSS_CASES: CloLossCase[] = [
  { label: 'B 1', B: 1, beta: 0.1, lambda: 0.5, spread: 3, dy: 1 },
  {
    label: 'B 37 (74 pairs: past one workgroup of 64), large margins, dy 0.7',
    B: 37,
    beta: 2,
    lambda: 0.3,
    spread: 20,
    dy: 0.7,
  },
];

/** The per-sequence sums of a case (seeded): policy, reference (one pair with a zero margin), counts. */
function cloStats(c: CloLossCase): { policy: number[]; reference: number[]; counts: number[] } {
  const rng = mulberry32(c.B * 1000 + 7);
  const n = 4 * c.B;
  const reference = Array.from({ length: n }, () => -5 - 40 * rng());
  const policy = reference.map((r) => r + c.spread * (2 * rng() - 1));
  // pair 0 (sequences 0, 1): the same difference on both sides, a margin of exactly 0 (accuracy counts it as not > 0)
  policy[1] = reference[1] + (policy[0] - reference[0]);
  const counts = Array.from({ length: n }, () => 1 + Math.floor(30 * rng()));
  return { policy, reference, counts };
}

async function cloRun(backend: string, c: CloLossCase, forced: boolean) {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
  forceReference('clo-loss', forced);
  try {
    const st = cloStats(c);
    const policy = tf.tensor1d(st.policy);
    const reference = tf.tensor1d(st.reference);
    const counts = tf.tensor1d(st.counts);
    const params = { beta: c.beta, lambda: c.lambda };
    const { out, ran } = await profiled(() => {
      const o = clo.loss({ policy, reference, counts }, params);
      const names = Object.keys(o.metrics);
      const values = o.stacked ?? (tf.stack([o.loss, ...names.map((k) => o.metrics[k])]) as tf.Tensor1D);
      const dp = tf.grads((p: tf.Tensor) => clo.loss({ policy: p as tf.Tensor1D, reference, counts }, params).loss)(
        [policy],
        tf.scalar(c.dy),
      )[0];
      return [values, dp];
    });
    const got = await Promise.all(out.map(read));
    tf.dispose([policy, reference, counts, ...out]);
    return { values: got[0], dp: got[1], ran };
  } finally {
    forceReference('clo-loss', false);
  }
}

/**
 * The CLO objective's loss on webgpu (the CloLabCloLoss kernels) vs its tfjs ops on the cpu backend: the
 * loss and each metric, and d policy, within 1e-5. Ends on webgpu.
 */
export async function checkCloLoss(c: CloLossCase): Promise<CheckRow[]> {
  const want = await cloRun('cpu', c, true);
  const got = await cloRun('webgpu', c, false);
  const qs: Compared[] = [
    { name: 'loss and metrics', got: got.values, want: want.values, relTol: 1e-5, scale: 'unit', atLeast: 1 },
    { name: 'd policy', got: got.dp, want: want.dp, relTol: 1e-5, scale: 'ref', atLeast: 1e-3 },
  ];
  return rows('clo-loss', c.label, qs, got.ran, [CLO_LOSS_FORWARD, CLO_LOSS_BACKWARD]);
}

// ---- all ----

/** Every op's cases, in one order (the page check runs them all). */
export const WEBGPU_CHECKS: { op: CheckedOp; run: () => Promise<CheckRow[]> }[] = [
  ...SWIGLU_CASES.map((c) => ({ op: 'swiglu' as const, run: () => checkSwiglu(c) })),
  ...RMSNORM_CASES.map((c) => ({ op: 'rmsnorm' as const, run: () => checkRmsNorm(c) })),
  ...ADD_RMSNORM_CASES.map((c) => ({ op: 'add-rmsnorm' as const, run: () => checkAddRmsNorm(c) })),
  ...ROPE_CASES.map((c) => ({ op: 'rope' as const, run: () => checkRope(c) })),
  ...ADAMW_CASES.map((c) => ({ op: 'adamw' as const, run: () => checkAdamw(c) })),
  ...PACKED_MATMUL_CASES.map((c) => ({ op: 'packed-matmul' as const, run: () => checkPackedMatMul(c) })),
  ...ATTENTION_CASES.map((c) => ({ op: 'attention' as const, run: () => checkAttention(c) })),
  ...HEAD_LOGPROBS_CASES.map((c) => ({ op: 'head-logprobs' as const, run: () => checkHeadLogprobs(c) })),
  ...RESPONSE_ROWS_CASES.map((c) => ({ op: 'response-rows' as const, run: () => checkResponseRows(c) })),
  ...LORA_LINEAR_CASES.map((c) => ({ op: 'lora-linear' as const, run: () => checkLoraLinear(c) })),
  ...LORA_LINEAR_GROUP_CASES.map((c) => ({ op: 'lora-linear' as const, run: () => checkLoraLinearGroup(c) })),
  ...GRAD_NORM_CASES.map((c) => ({ op: 'grad-norm' as const, run: () => checkGradNorm(c) })),
  ...CLO_LOSS_CASES.map((c) => ({ op: 'clo-loss' as const, run: () => checkCloLoss(c) })),
  ...SPLIT_CASES.map((c) => ({ op: 'split' as const, run: () => checkSplit(c) })),
];

/** Runs every check on the current (webgpu) backend: the rows of all cases, a case that threw as one failed row. */
export async function runWebgpuChecks(): Promise<CheckRow[]> {
  const out: CheckRow[] = [];
  for (const [i, c] of WEBGPU_CHECKS.entries()) {
    try {
      out.push(...(await c.run()));
    } catch (e) {
      out.push({ op: c.op, case: `check ${i}: threw`, maxAbsDiff: Infinity, tol: 0, ok: false, note: String(e) });
      await tf.setBackend('webgpu');
    }
  }
  return out;
}
