import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../registry';

/**
 * The tfjs kernel of the step's gradient statistics (webgpu.ts): inputs g and p (flat, one length),
 * attribute `clipNorm`; one output [4], the layout of gradNorm's result.
 */
export const GRAD_NORM_KERNEL = 'CloLabGradNorm';

/** Where each value sits in gradNorm's result. */
export const GRAD_STATS = { clip: 0, norm: 1, gradsFinite: 2, weightsFinite: 3 } as const;

/**
 * What a step needs to know of its gradients before the update, over the flat gradient g and the flat
 * parameters p, as one tensor [4] (GRAD_STATS): the clip scale min(1, clipNorm / (‖g‖ + 1e-6)), the
 * global L2 norm ‖g‖, and 1 or 0 for "every element of g is finite" and the same for p. The clip
 * scale sits first so the tensor serves as the AdamW update's clip input as it is. The backend's fused
 * kernel (two dispatches on webgpu) where the kernel registry says so, else the reference path; the two
 * sum the squares in different orders.
 */
export function gradNorm(g: tf.Tensor1D, p: tf.Tensor1D, clipNorm: number): tf.Tensor1D {
  if (g.size !== p.size) throw new Error(`gradNorm: ${g.size} gradients for ${p.size} parameters`);
  if (kernelFor('grad-norm') !== 'kernel') return referenceGradNorm(g, p, clipNorm);
  return tf.engine().runKernel(GRAD_NORM_KERNEL, { g, p }, { clipNorm }) as tf.Tensor1D;
}

/** The reference path in tf ops (square, sum, sqrt and the clip scale; isFinite and all per flag). */
export function referenceGradNorm(g: tf.Tensor1D, p: tf.Tensor1D, clipNorm: number): tf.Tensor1D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(g)));
    const clip = tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6)));
    const finite = (x: tf.Tensor) => tf.all(tf.isFinite(x)).cast('float32');
    return tf.stack([clip, norm, finite(g), finite(p)]) as tf.Tensor1D;
  });
}
