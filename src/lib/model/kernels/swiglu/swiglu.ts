import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../registry';

/** The tfjs kernels of the fused SwiGLU (wasm-op.ts for wasm, webgpu.ts for webgpu): inputs g, u (+ dy). */
export const SWIGLU_FORWARD = 'CloLabSwiGLU';
export const SWIGLU_BACKWARD = 'CloLabSwiGLUGrad';

/**
 * SwiGLU's gate silu(g)·u: the backend's fused kernel (wasm: one SIMD pass each way, in place; webgpu:
 * one dispatch each way) where the kernel registry says so, else the reference path.
 */
export function swiglu(g: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  return kernelFor('swiglu') === 'kernel' ? kernelSwiglu(g, u) : referenceSwiglu(g, u);
}

/** silu(g)·u through the registered kernels, with their gradient (g, u kept for the backward). */
function kernelSwiglu(g: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((gi: tf.Tensor, ui: tf.Tensor, save: tf.GradSaveFunc) => {
    save([gi, ui]);
    return {
      value: tf.engine().runKernel(SWIGLU_FORWARD, { g: gi, u: ui }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(SWIGLU_BACKWARD, { g: saved[0], u: saved[1], dy }) as tf.Tensor[],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(g, u) as tf.Tensor2D;
}

/**
 * The reference path in tf ops: silu(g)·u = g·σ(g)·u, the same forward kernels as autodiff's form,
 * keeping only g and u (autodiff keeps σ(g), g twice, g·σ(g) and u). With σ = σ(g):
 *   du = dy·g·σ    dg = dy·u·σ·(1 + g·(1 − σ))
 */
export function referenceSwiglu(g: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((gi: tf.Tensor, ui: tf.Tensor, save: tf.GradSaveFunc) => {
    save([gi, ui]);
    return {
      value: tf.mul(tf.mul(gi, tf.sigmoid(gi)), ui),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [gs, us] = saved;
        const sg = tf.sigmoid(gs);
        const dgs = tf.mul(dy, us);
        return [tf.mul(tf.mul(dgs, sg), tf.add(1, tf.mul(gs, tf.sub(1, sg)))), tf.mul(dy, tf.mul(gs, sg))];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(g, u) as tf.Tensor2D;
}
