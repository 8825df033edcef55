import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, RopeStyle } from './config';

/**
 * RoPE as x·C + (x·R)·S, where R is the fixed [d, d] signed permutation that pairs each coordinate
 * with its rotation partner, and C, S are cos/sin repeated over each pair. 'interleaved' (llama2.c)
 * pairs (2i, 2i+1); 'half' (Hugging Face) pairs (i, i + d/2). kernels/rope/ applies them (applyRope).
 */
export interface RopeTables {
  cos: tf.Tensor2D; // [T, d]
  sin: tf.Tensor2D; // [T, d]
  rot: tf.Tensor2D; // [d, d]
  /**
   * [T, d]: both tables in one, for kernels that read them together (each pair's two coordinates share their
   * angle): cos at the first coordinate of each pair, sin at the second
   */
  cs: tf.Tensor2D;
  /** the pairing R encodes (the fused kernel pairs coordinates itself) */
  style: RopeStyle;
}

export function ropeTables(cfg: ModelConfig, T: number, offset = 0): RopeTables {
  const d = cfg.headDim;
  const half = d / 2;
  const cos = new Float32Array(T * d);
  const sin = new Float32Array(T * d);
  const rot = new Float32Array(d * d);
  const cs = new Float32Array(T * d);
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
      cs[t * d + j] = partner(j)[1] < 0 ? cos[t * d + j] : sin[t * d + j];
    }
  }
  for (let j = 0; j < d; j++) {
    const [p, s] = partner(j);
    rot[p * d + j] = s; // (x·R)[j] = Σ_p x[p] R[p, j]
  }
  return {
    cos: tf.tensor2d(cos, [T, d]),
    sin: tf.tensor2d(sin, [T, d]),
    rot: tf.tensor2d(rot, [d, d]),
    cs: tf.tensor2d(cs, [T, d]),
    style: cfg.ropeStyle,
  };
}
