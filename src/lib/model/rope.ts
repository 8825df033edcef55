import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import { matMulConst } from './matmul';

/**
 * RoPE as x·C + (x·R)·S, where R is the fixed [d, d] signed permutation that pairs each coordinate
 * with its rotation partner, and C, S are cos/sin repeated over each pair. 'interleaved' (llama2.c)
 * pairs (2i, 2i+1); 'half' (Hugging Face) pairs (i, i + d/2). One small matmul instead of
 * split/concat keeps it fast on every backend (split along a size-2 axis was 40% of a wasm step).
 */
export interface RopeTables {
  cos: tf.Tensor2D; // [T, d]
  sin: tf.Tensor2D; // [T, d]
  rot: tf.Tensor2D; // [d, d]
}

export function ropeTables(cfg: ModelConfig, T: number, offset = 0): RopeTables {
  const d = cfg.headDim;
  const half = d / 2;
  const cos = new Float32Array(T * d);
  const sin = new Float32Array(T * d);
  const rot = new Float32Array(d * d);
  // partner(j) and sign: rotated[j] = sign * x[partner(j)]
  const partner = (j: number): [number, number] => {
    if (cfg.ropeStyle === 'interleaved') return j % 2 === 0 ? [j + 1, -1] : [j - 1, 1];
    return j < half ? [j + half, -1] : [j - half, 1];
  };
  const pairIndex = (j: number) => (cfg.ropeStyle === 'interleaved' ? Math.floor(j / 2) : j % half);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < d; j++) {
      const freq = Math.pow(cfg.ropeTheta, (-2 * pairIndex(j)) / d);
      const a = (t + offset) * freq;
      cos[t * d + j] = Math.cos(a);
      sin[t * d + j] = Math.sin(a);
    }
  }
  for (let j = 0; j < d; j++) {
    const [p, s] = partner(j);
    rot[p * d + j] = s; // (x·R)[j] = Σ_p x[p] R[p, j]
  }
  return { cos: tf.tensor2d(cos, [T, d]), sin: tf.tensor2d(sin, [T, d]), rot: tf.tensor2d(rot, [d, d]) };
}

/** Rotate x [B, T, H, d] by position. */
export function applyRope(x: tf.Tensor4D, r: RopeTables): tf.Tensor4D {
  const [B, T, H, d] = x.shape;
  const rotated = matMulConst(x.reshape([B * T * H, d]) as tf.Tensor2D, r.rot).reshape([B, T, H, d]);
  const c = r.cos.reshape([1, T, 1, d]);
  const s = r.sin.reshape([1, T, 1, d]);
  return tf.add(tf.mul(x, c), tf.mul(rotated, s)) as tf.Tensor4D;
}
