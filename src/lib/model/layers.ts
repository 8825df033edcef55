import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { Linear, Norm } from './weights';
import { matMulFrozenT, matMulT } from './matmul';
import { loraDelta } from './lora-delta';
import { rmsNorm } from './kernels/rmsnorm/rmsnorm';
import { addRmsNorm, addSame, addThenRmsNorm, type AddNormed } from './kernels/add-rmsnorm/add-rmsnorm';
import { loraLinear, loraLinears, type LoraApply } from './kernels/lora-linear/lora-linear';

/** RMSNorm or LayerNorm over the last axis of x [N, D]. */
export function norm(x: tf.Tensor2D, n: Norm, cfg: ModelConfig): tf.Tensor2D {
  if (cfg.norm === 'rms') return rmsNorm(x, n.w, cfg.normEps);
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, cfg.normEps)));
  return (n.b ? tf.add(tf.mul(y, n.w), n.b) : tf.mul(y, n.w)) as tf.Tensor2D;
}

export { addSame };

/**
 * The residual add and the norm that reads it: x = a + b and norm(x). RMSNorm takes the fused op
 * (kernels/add-rmsnorm/: one kernel each way where the registry says so), LayerNorm addSame and norm.
 */
export function addNorm(a: tf.Tensor2D, b: tf.Tensor2D, n: Norm, cfg: ModelConfig): AddNormed {
  if (cfg.norm === 'rms') return addRmsNorm(a, b, n.w, cfg.normEps);
  const sum = addSame(a, b);
  return { sum, normed: norm(sum, n, cfg) };
}

/** norm(a + b) where the sum is not needed further (the final norm). */
export function addThenNorm(a: tf.Tensor2D, b: tf.Tensor2D, n: Norm, cfg: ModelConfig): tf.Tensor2D {
  if (cfg.norm === 'rms') return addThenRmsNorm(a, b, n.w, cfg.normEps);
  return norm(addSame(a, b), n, cfg);
}

export type { LoraApply };

/**
 * y = x W^T + b (+ scale · dropout(x) A^T B^T). x [N, in]. A frozen W with an adapter is the fused LoRA
 * linear (kernels/lora-linear/), a trained one (full rank) the plain products with loraDelta.
 */
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
 * Several linears of one input x (a layer's q, k and v projections): linear(x, lin_i, lora_i) each. When
 * all of them are frozen with an adapter, they go through loraLinears, whose kernel path sums x's
 * gradient inside the backward kernels.
 */
export function linears(x: tf.Tensor2D, items: [Linear, LoraApply | null][]): tf.Tensor2D[] {
  if (items.length > 1 && items.every(([lin, lora]) => lora && !(lin.w instanceof tf.Variable)))
    return loraLinears(
      x,
      items.map(([lin, lora]) => ({ lin, lora: lora! })),
    );
  return items.map(([lin, lora]) => linear(x, lin, lora));
}

/** GPT-2's tanh approximation of GELU ("gelu_new"). */
export function geluTanh(x: tf.Tensor2D): tf.Tensor2D {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}
