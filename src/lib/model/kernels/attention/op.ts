import * as tf from '@tensorflow/tfjs';
import type { AttentionShape } from './kernel';
import type { RopeTables } from '../../rope';

/**
 * The attention kernels' contract with tfjs, the same on every backend that has them (wasm-op.ts,
 * webgpu.ts): two kernels registered under these names,
 *   FORWARD  {q, k, v, bias}                      → [out (outShape), stats [2, n, R]: row max m, then 1/l]
 *   BACKWARD {q, k, v, bias, out, stats, dO}      → [dq, dk, dv] (the shapes of q, k, v)
 * with the attributes below; attentionKernelOp runs them as one tf op with its own gradient. With `rope`
 * other than 'none' (only where the kernel registry says the backend's kernel takes it: webgpu) both also
 * take the RoPE table {cs} [T, hd] (RopeTables.cs): q and k are the projections before RoPE (head layout, S = T),
 * the kernel rotates them itself, and dq, dk are the gradients of those unrotated inputs.
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
  /** the RoPE pairing folded in, or 'none' */
  rope: 'none' | RopeTables['style'];
}

export function shapeOf(a: Attrs): AttentionShape {
  const { n, R, S, hd, scale, B, T, H, Hkv } = a;
  return { n, R, S, hd, scale, heads: B ? { B, T, H, Hkv } : undefined };
}

/**
 * Attention through the registered kernels of the current backend, with its own gradient (the forward
 * keeps q, k, v, out and the row statistics; the backward recomputes P). Layouts as in AttentionShape;
 * the output is outShape. Runs where kernelFor('attention') says 'kernel'; with `rope`, where
 * kernelFor('attention', { rope: true }) does (the table is saved for the backward, so that they outlive
 * the forward's tidy).
 */
export function attentionKernelOp(
  sh: AttentionShape,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor3D,
  outShape: number[],
  rope?: RopeTables,
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
    rope: rope ? rope.style : 'none',
  };
  const tables: tf.NamedTensorMap = rope ? { cs: rope.cs } : {};
  const attrMap = attrs as unknown as tf.NamedAttrMap;
  const f = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const inputs: tf.NamedTensorMap = { q: qi, k: ki, v: vi, bias, ...tables };
    const [out, stats] = tf.engine().runKernel(FORWARD, inputs, attrMap) as tf.Tensor[];
    save([qi, ki, vi, out, stats, ...(rope ? [rope.cs] : [])]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qS, kS, vS, oS, sS, cs] = saved;
        const inputs: tf.NamedTensorMap = { q: qS, k: kS, v: vS, bias, out: oS, stats: sS, dO: dy };
        if (rope) inputs.cs = cs;
        return tf.engine().runKernel(BACKWARD, inputs, attrMap) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q, k, v);
}
