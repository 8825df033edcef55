import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../registry';

/** The tfjs kernels of the fused RMSNorm (webgpu.ts): inputs x [N, D], w [D] (+ dy), attribute eps. */
export const RMSNORM_FORWARD = 'CloLabRMSNorm';
export const RMSNORM_BACKWARD = 'CloLabRMSNormGrad';

/**
 * RMSNorm over the last axis of x [N, D] with weight w [D]: x·w/√(mean(x²) + ε). A trained weight (a
 * Variable: full-rank training) takes tfjs autodiff, which also gives dw; a frozen one the backend's
 * fused kernel where the kernel registry says so, else the reference path.
 */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor2D {
  if (w instanceof tf.Variable) return rmsNormAutodiff(x, w, eps);
  return kernelFor('rmsnorm') === 'kernel' ? kernelRmsNorm(x, w, eps) : referenceRmsNorm(x, w, eps);
}

function rmsNormAutodiff(x: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** The fused kernels, with their gradient for x (x kept for the backward, which recomputes r from it). */
function kernelRmsNorm(x: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor2D {
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi]);
    return {
      value: tf.engine().runKernel(RMSNORM_FORWARD, { x: xi, w }, { eps }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.engine().runKernel(RMSNORM_BACKWARD, { x: saved[0], w, dy }, { eps }) as tf.Tensor,
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

/**
 * The reference path: RMSNorm with a frozen weight w as one custom gradient, the same forward kernels as
 * autodiff's form, but the backward keeps only x and r = 1/√(mean(x²) + ε) [N, 1] (autodiff keeps x three
 * times, x·r and the sum). With g = dy·w:  dx = r·g − x·r³·mean(x·g).
 */
export function referenceRmsNorm(x: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor2D {
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(xi), -1, true), eps));
    save([xi, r]);
    return {
      value: tf.mul(tf.mul(xi, r), w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, rs] = saved;
        const g = tf.mul(dy, w);
        const proj = tf.mean(tf.mul(xs, g), -1, true);
        return [tf.sub(tf.mul(g, rs), tf.mul(xs, tf.mul(proj, tf.pow(rs, 3))))];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}
