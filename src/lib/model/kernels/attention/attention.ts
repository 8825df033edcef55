import * as tf from '@tensorflow/tfjs';
import { attentionBackward, attentionForward, prepareBias, type AttentionShape, type PreparedBias } from './kernel';
import { attentionKernelOp } from './op';
import { kernelFor } from '../registry';
import { applyRope } from '../rope/rope';
import type { RopeTables } from '../../rope';

/**
 * Scaled dot-product attention over "pairs" (one pair = one batch row × one KV head, with the G query
 * heads that share that KV head folded into the row axis):
 *   q [n, R, hd] (R = G·T rows), k [n, S, hd], v [n, S, hd], bias [1 | n, R, S] (additive mask)
 *   → softmax(scale·q·kᵀ + bias)·v   [n, R, hd]
 *
 * With a custom gradient (FlashAttention's backward, on whole tensors):
 *   q̃ = scale·q    P = softmax(q̃·kᵀ + bias)    O = P·v
 *   dP = dO·vᵀ    D = rowsum(dO ∘ O)    dS = P ∘ (dP − D)
 *   dq = scale·dS·k    dk = dSᵀ·q̃    dv = Pᵀ·dO
 * Autodiff of the plain form makes four more passes over the [n, R, S] scores (the scale's product
 * forward and backward, and softmax's gradient mul/sum/mul/sub) and keeps four [n, R, S] tensors for the
 * backward pass; this keeps one (P) and does two passes (sub, mul), with D taken from the [n, R, hd]
 * outputs. The six products are the same.
 *
 * Measured and not kept (bench/attention-micro.ts, wasm): splitting into per-pair 2-D products so that
 * XNNPACK runs them. The products are too small ([G·T, hd]·[hd, S]) for XNNPACK to beat the batched
 * loop by much, and the ~20 extra ops per pair (gathers, since wasm's slice copies its whole input per
 * piece) cost more than they saved.
 *
 * Where the kernel registry says 'kernel' (wasm backend, hd % 4 == 0, WebAssembly SIMD present) the
 * whole op runs in the fused kernel of kernel.ts instead, in place on the wasm heap (wasm-op.ts):
 * tfjs-wasm's batched products are a scalar loop on one thread; the kernel never materialises the
 * [n, R, S] scores, skips the masked tail of causal rows and keeps only the row statistics (lse as max
 * and 1/sum, [2, n, R]) for the backward pass.
 *
 * The forms, each callable on its own (tests, bench/attention-micro.ts): autodiffAttention (the
 * reference, tfjs autodiff of the plain formula), fusedAttention (the custom gradient above, in tf ops)
 * and kernelAttention (the WebAssembly kernel over copies, on any backend).
 */
export function attention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  if (kernelFor('attention', { headDim: q.shape[2] }) === 'kernel') {
    const [n, R, hd] = q.shape;
    return attentionKernelOp({ n, R, S: k.shape[1], hd, scale }, q, k, v, bias, q.shape) as tf.Tensor3D;
  }
  return fusedAttention(q, k, v, bias, scale);
}

/** The custom-gradient form in tf ops (FlashAttention's backward on whole tensors): what other backends run. */
export function fusedAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const qs = tf.mul(qi, scale) as tf.Tensor3D;
    const p = tf.tidy(() => tf.softmax(tf.add(tf.matMul(qs, ki as tf.Tensor3D, false, true), bias)));
    const out = tf.matMul(p, vi as tf.Tensor3D);
    save([qs, ki, vi, p, out]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qsS, kS, vS, pS, oS] = saved as tf.Tensor3D[];
        const dO = dy as tf.Tensor3D;
        const dS = tf.tidy(() => {
          const D = tf.sum(tf.mul(dO, oS), -1, true);
          return tf.mul(pS, tf.sub(tf.matMul(dO, vS, false, true), D)) as tf.Tensor3D;
        });
        return [tf.mul(tf.matMul(dS, kS), scale), tf.matMul(dS, qsS, true, false), tf.matMul(pS, dO, true, false)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q, k, v) as tf.Tensor3D;
}

/** The plain form under autodiff: the reference the custom gradient must match. */
export function autodiffAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), bias);
  return tf.matMul(tf.softmax(scores, -1), v) as tf.Tensor3D;
}

/** The kernel's view of each bias tensor (padded copy and per-row kEnd), computed once per tensor. */
const prepared = new WeakMap<tf.Tensor, PreparedBias>();

function prepared3(bias: tf.Tensor3D): PreparedBias {
  let p = prepared.get(bias);
  if (!p) {
    const [pairs, R, S] = bias.shape;
    p = prepareBias(bias.dataSync() as Float32Array, pairs, R, S);
    prepared.set(bias, p);
  }
  return p;
}

const f32 = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

/**
 * The fused WebAssembly kernel over copies of the tensors (read out with dataSync, results as new
 * tensors), on any backend, as a tf op with its own gradient: the forward saves q, k, v, out and the
 * row statistics (max and 1/sum: lse in two parts, [2, n, R]), not P; the backward recomputes P row by
 * row. Needs WebAssembly SIMD (attentionKernelAvailable); tests and benches compare it with the in-place
 * kernel and the tf forms.
 */
export function kernelAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  const [n, R, hd] = q.shape;
  return kernelOp({ n, R, S: k.shape[1], hd, scale }, q, k, v, bias, q.shape) as tf.Tensor3D;
}

/**
 * Attention in the projections' layouts, without transposes: q [B, T, H, hd], k, v [B, S, Hkv, hd]
 * (S = T, no cache) → [B·T, H·hd], by the in-place kernel; null where the kernel registry says
 * 'reference' (backend, hd % 4, forced), and the caller applies `rope` itself and takes the transposing
 * path to attention(). With `rope`, q and k are the projections before RoPE: where the backend's kernel
 * takes RoPE (webgpu) it rotates them as it loads them (and rotates dq, dk back), else applyRope runs
 * first (wasm). forceReference('rope') keeps RoPE out of the kernel too.
 */
export function attentionHeads(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor3D,
  scale: number,
  rope: RopeTables | null = null,
): tf.Tensor2D | null {
  const headDim = q.shape[3];
  if (kernelFor('attention', { headDim }) !== 'kernel') return null;
  const sh = headsShape(q, k, scale);
  if (rope && kernelFor('attention', { headDim, rope: true }) === 'kernel' && kernelFor('rope') === 'kernel')
    return attentionKernelOp(sh, q, k, v, bias, headsOut(q), rope) as tf.Tensor2D;
  const [qr, kr] = rope ? [applyRope(q, rope), applyRope(k, rope)] : [q, k];
  return attentionKernelOp(sh, qr, kr, v, bias, headsOut(q)) as tf.Tensor2D;
}

/** attentionHeads by the kernel over copies (any backend where WebAssembly SIMD is present; tests). */
export function kernelAttentionHeads(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  bias: tf.Tensor3D,
  scale: number,
): tf.Tensor2D {
  return kernelOp(headsShape(q, k, scale), q, k, v, bias, headsOut(q)) as tf.Tensor2D;
}

function headsShape(q: tf.Tensor4D, k: tf.Tensor4D, scale: number): AttentionShape {
  const [B, T, H, hd] = q.shape;
  const [, S, Hkv] = k.shape;
  return { n: B * Hkv, R: (H / Hkv) * T, S, hd, scale, heads: { B, T, H, Hkv } };
}

const headsOut = (q: tf.Tensor4D): number[] => [q.shape[0] * q.shape[1], q.shape[2] * q.shape[3]];

function kernelOp(
  sh: AttentionShape,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor3D,
  outShape: number[],
): tf.Tensor {
  const pb = prepared3(bias);
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const { out, stats } = attentionForward(sh, f32(qi), f32(ki), f32(vi), pb);
    const outT = tf.tensor(out, outShape);
    save([qi, ki, vi, outT, tf.tensor3d(stats, [2, sh.n, sh.R])]);
    return {
      value: outT,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qS, kS, vS, oS, lS] = saved;
        const g = attentionBackward(sh, f32(qS), f32(kS), f32(vS), pb, f32(oS), f32(lS), f32(dy));
        return [tf.tensor(g.dq, qS.shape), tf.tensor(g.dk, kS.shape), tf.tensor(g.dv, vS.shape)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q, k, v);
}
