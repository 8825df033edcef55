import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { Linear, Norm } from './weights';
import type { LoraPair } from './adapter';
import { frozenProduct, frozenProductT, matMulFrozenT, matMulT, productT } from './matmul';
import { loraDelta } from './lora-delta';
import { rmsNorm } from './kernels/rmsnorm/rmsnorm';

/** RMSNorm or LayerNorm over the last axis of x [N, D]. */
export function norm(x: tf.Tensor2D, n: Norm, cfg: ModelConfig): tf.Tensor2D {
  if (cfg.norm === 'rms') return rmsNorm(x, n.w, cfg.normEps);
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, cfg.normEps)));
  return (n.b ? tf.add(tf.mul(y, n.w), n.b) : tf.mul(y, n.w)) as tf.Tensor2D;
}

/** a + b for tensors of one shape, keeping nothing for the backward pass (autodiff keeps both addends). */
export function addSame(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((ai: tf.Tensor, bi: tf.Tensor) => ({
    value: tf.add(ai, bi),
    gradFunc: (dy: tf.Tensor) => [dy.clone(), dy.clone()],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as tf.Tensor2D;
}

export interface LoraApply {
  pair: LoraPair;
  scale: number;
  dropout: number;
  seed?: number;
}

/** y = x W^T + b (+ scale · dropout(x) A^T B^T). x [N, in]. */
export function linear(x: tf.Tensor2D, lin: Linear, lora?: LoraApply | null): tf.Tensor2D {
  // a weight trained at full rank (train/full-rank.ts) is a Variable: it needs its own gradient and no cached transpose
  const full = lin.w instanceof tf.Variable;
  if (lora && !full) return loraLinear(x, lin, lora);
  let y = full ? matMulT(x, lin.w as unknown as tf.Tensor2D) : matMulFrozenT(x, lin.w);
  if (lin.b) y = tf.add(y, lin.b);
  if (lora) {
    let xin = x;
    if (lora.dropout > 0) xin = tf.dropout(x, lora.dropout, undefined, lora.seed) as tf.Tensor2D;
    y = tf.add(
      y,
      loraDelta(xin, lora.pair.A as unknown as tf.Tensor2D, lora.pair.B as unknown as tf.Tensor2D, lora.scale),
    );
  }
  return y;
}

/**
 * A frozen linear with a LoRA adapter as one custom gradient. For the backward it keeps only x_d (the
 * adapter's input, x itself without dropout) and d = s·(x_d·Aᵀ) [N, r], where autodiff of the unfused
 * form keeps up [N, out], both addends of each add and a copy of x per product. As in lora-delta.ts the
 * scale multiplies the [N, r] tensor and every transpose is r-wide (dB = (dᵀ·dy)ᵀ, not dyᵀ·d):
 *   y = x·Wᵀ (+ b) + d·Bᵀ
 *   dd = s·(dy·B)    dB = (dᵀ·dy)ᵀ    dA = ddᵀ·x_d    dx = dy·W (+ dd·A when x_d is x)
 */
function loraLinear(x: tf.Tensor2D, lin: Linear, lora: LoraApply): tf.Tensor2D {
  const w = lin.w;
  const b = lin.b;
  const s = lora.scale;
  const xd = lora.dropout > 0 ? (tf.dropout(x, lora.dropout, undefined, lora.seed) as tf.Tensor2D) : x;
  const same = xd === x;
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, xdi, A, B] = (same ? [args[0], args[0], args[1], args[2]] : args) as tf.Tensor2D[];
    const d = tf.mul(productT(xdi, A), s) as tf.Tensor2D;
    save([xdi, d, A, B]);
    let y = frozenProductT(xi, w);
    if (b) y = tf.add(y, b);
    y = tf.add(y, productT(d, B));
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ds, As, Bs] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        const dd = tf.mul(tf.matMul(g, Bs), s) as tf.Tensor2D;
        const dB = tf.transpose(tf.matMul(tf.transpose(ds), g));
        const dA = tf.matMul(tf.transpose(dd), xs);
        const dxd = tf.matMul(dd, As);
        const dxw = frozenProduct(g, w);
        return same ? [tf.add(dxw, dxd), dA, dB] : [dxw, dxd, dA, dB];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const A = lora.pair.A as unknown as tf.Tensor2D;
  const B = lora.pair.B as unknown as tf.Tensor2D;
  return (same ? f(x, A, B) : f(x, xd, A, B)) as tf.Tensor2D;
}

/** GPT-2's tanh approximation of GELU ("gelu_new"). */
export function geluTanh(x: tf.Tensor2D): tf.Tensor2D {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}
