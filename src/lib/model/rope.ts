import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';

/** cos/sin tables [T, headDim/2] for positions offset..offset+T-1, inverse frequency theta^(-2i/d). */
export function ropeTables(cfg: ModelConfig, T: number, offset = 0): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = cfg.headDim / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const freq = Math.pow(cfg.ropeTheta, (-2 * i) / cfg.headDim);
      const a = (t + offset) * freq;
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { cos: tf.tensor2d(cos, [T, half]), sin: tf.tensor2d(sin, [T, half]) };
}

/**
 * Rotate x [B, T, H, d] by position. 'interleaved' (llama2.c) rotates pairs (2i, 2i+1);
 * 'half' (Hugging Face) rotates (i, i + d/2). Built from reshape/split/concat only (all differentiable).
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D, style: ModelConfig['ropeStyle']): tf.Tensor4D {
  const [B, T, H, d] = x.shape;
  const half = d / 2;
  if (style === 'interleaved') {
    const pairs = x.reshape([B, T, H, half, 2]);
    const [a, b] = tf.split(pairs, 2, 4);
    const c = cos.reshape([1, T, 1, half, 1]);
    const s = sin.reshape([1, T, 1, half, 1]);
    const ra = tf.sub(tf.mul(a, c), tf.mul(b, s));
    const rb = tf.add(tf.mul(a, s), tf.mul(b, c));
    return tf.concat([ra, rb], 4).reshape([B, T, H, d]);
  }
  const [x1, x2] = tf.split(x, 2, 3);
  const c = cos.reshape([1, T, 1, half]);
  const s = sin.reshape([1, T, 1, half]);
  return tf.concat([tf.sub(tf.mul(x1, c), tf.mul(x2, s)), tf.add(tf.mul(x2, c), tf.mul(x1, s))], 3) as tf.Tensor4D;
}
