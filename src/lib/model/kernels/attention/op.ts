import * as tf from '@tensorflow/tfjs';
import type { AttentionShape } from './kernel';

/**
 * The attention kernels' contract with tfjs, the same on every backend that has them (wasm-op.ts,
 * webgpu.ts): two kernels registered under these names,
 *   FORWARD  {q, k, v, bias}                      → [out (outShape), stats [2, n, R]: row max m, then 1/l]
 *   BACKWARD {q, k, v, bias, out, stats, dO}      → [dq, dk, dv] (the shapes of q, k, v)
 * with the attributes below; attentionKernelOp runs them as one tf op with its own gradient.
 */
export const FORWARD = 'CloLabAttention';
export const BACKWARD = 'CloLabAttentionGrad';

export interface Attrs {
  n: number;
  R: number;
  S: number;
  hd: number;
  scale: number;
  /** 0: no head layout (q-like [n, R, hd]); else the projections' layouts, B·Hkv = n */
  B: number;
  T: number;
  H: number;
  Hkv: number;
  outShape: number[];
}

export function shapeOf(a: Attrs): AttentionShape {
  const { n, R, S, hd, scale, B, T, H, Hkv } = a;
  return { n, R, S, hd, scale, heads: B ? { B, T, H, Hkv } : undefined };
}

/**
 * Attention through the registered kernels of the current backend, with its own gradient (the forward
 * keeps q, k, v, out and the row statistics; the backward recomputes P). Layouts as in AttentionShape;
 * the output is outShape. Runs where kernelFor('attention') says 'kernel'.
 */
export function attentionKernelOp(
  sh: AttentionShape,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor3D,
  outShape: number[],
): tf.Tensor {
  const h = sh.heads;
  const attrs: Attrs = {
    n: sh.n,
    R: sh.R,
    S: sh.S,
    hd: sh.hd,
    scale: sh.scale,
    B: h?.B ?? 0,
    T: h?.T ?? 0,
    H: h?.H ?? 0,
    Hkv: h?.Hkv ?? 0,
    outShape,
  };
  const attrMap = attrs as unknown as tf.NamedAttrMap;
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, stats] = tf.engine().runKernel(FORWARD, { q: qi, k: ki, v: vi, bias }, attrMap) as tf.Tensor[];
    save([qi, ki, vi, out, stats]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qS, kS, vS, oS, sS] = saved;
        const inputs = { q: qS, k: kS, v: vS, bias, out: oS, stats: sS, dO: dy };
        return tf.engine().runKernel(BACKWARD, inputs, attrMap) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q, k, v);
}
