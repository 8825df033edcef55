import * as tf from '@tensorflow/tfjs';
import { matMulConst } from '../../matmul';
import type { RopeTables } from '../../rope';
import { kernelFor } from '../registry';

/**
 * The tfjs kernel of the fused RoPE (webgpu.ts): inputs x [B, T, H, d], cos and sin [T, d]; attributes
 * `interleaved` (the pairing, rope.ts) and `inverse` (rotate by −angle: the gradient).
 */
export const ROPE_KERNEL = 'CloLabRope';

/**
 * Rotate x [B, T, H, d] by position: the backend's fused kernel where the kernel registry says so (one
 * dispatch each way, x not kept for the backward), else the reference path.
 */
export function applyRope(x: tf.Tensor4D, r: RopeTables): tf.Tensor4D {
  return kernelFor('rope') === 'kernel' ? kernelRope(x, r) : referenceRope(x, r);
}

/**
 * The kernel, with its gradient. The rotation is orthogonal, so dx is dy rotated by the opposite angle:
 * the same kernel with `inverse`; the backward keeps only the cos and sin tables (saved, so that they
 * outlive the forward's tidy).
 */
function kernelRope(x: tf.Tensor4D, r: RopeTables): tf.Tensor4D {
  const interleaved = r.style === 'interleaved';
  const run = (t: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, inverse: boolean) =>
    tf.engine().runKernel(ROPE_KERNEL, { x: t, cos, sin }, { interleaved, inverse }) as tf.Tensor;
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([r.cos, r.sin]);
    return {
      value: run(xi, r.cos, r.sin, false),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [run(dy, saved[0], saved[1], true)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

/**
 * The reference path: x·C + (x·R)·S (rope.ts builds C, S and the signed permutation R), with tfjs's
 * autodiff. One small product instead of split/concat keeps it fast on every backend (split along a
 * size-2 axis was 40% of a wasm step).
 */
export function referenceRope(x: tf.Tensor4D, r: RopeTables): tf.Tensor4D {
  const [B, T, H, d] = x.shape;
  const rotated = matMulConst(x.reshape([B * T * H, d]) as tf.Tensor2D, r.rot).reshape([B, T, H, d]);
  const c = r.cos.reshape([1, T, 1, d]);
  const s = r.sin.reshape([1, T, 1, d]);
  return tf.add(tf.mul(x, c), tf.mul(rotated, s)) as tf.Tensor4D;
}
