import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { Linear, Norm } from './weights';
import type { LoraPair } from './adapter';
import { matMulFrozenT, matMulT } from './matmul';
import { loraDelta } from './lora-delta';

/** RMSNorm or LayerNorm over the last axis of x [N, D]. */
export function norm(x: tf.Tensor2D, n: Norm, cfg: ModelConfig): tf.Tensor2D {
  if (cfg.norm === 'rms') {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, cfg.normEps))), n.w);
  }
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, cfg.normEps)));
  return (n.b ? tf.add(tf.mul(y, n.w), n.b) : tf.mul(y, n.w)) as tf.Tensor2D;
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
  let y = lin.w instanceof tf.Variable ? matMulT(x, lin.w as unknown as tf.Tensor2D) : matMulFrozenT(x, lin.w);
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

/** GPT-2's tanh approximation of GELU ("gelu_new"). */
export function geluTanh(x: tf.Tensor2D): tf.Tensor2D {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}
