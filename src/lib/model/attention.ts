import * as tf from '@tensorflow/tfjs';

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
 */
export function attention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  scale: number,
): tf.Tensor3D {
  if (mode === 'autodiff') return autodiffAttention(q, k, v, bias, scale);
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

let mode: 'fused' | 'autodiff' = 'fused';
/** Force a form (tests, A/B benchmarks). */
export function setAttentionMode(m: 'fused' | 'autodiff'): void {
  mode = m;
}
