import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../registry';

/**
 * The tfjs kernel of the fused AdamW update (webgpu.ts): inputs g, p, m, v (flat, one length) and c
 * (c[0] the clip scale, then the per-element rate when `rateVector`); attributes the AdamwConstants
 * (+ `rate` when scalar). Outputs the new p, m, v.
 */
export const ADAMW_KERNEL = 'CloLabAdamW';

/** The step's constants: bias corrections bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ for the step t. */
export interface AdamwConstants {
  beta1: number;
  beta2: number;
  eps: number;
  bc1: number;
  bc2: number;
  weightDecay: number;
}

export interface AdamwState {
  /** parameters, gradients and moments, flattened and concatenated in one order */
  p: tf.Tensor1D;
  g: tf.Tensor1D;
  m: tf.Tensor1D;
  v: tf.Tensor1D;
}

/**
 * One AdamW step (decoupled weight decay) over a flat vector: the gradient times `clip` (global-norm
 * clipping: a number, or a tensor whose first element is the scale), then the moments and the
 * parameters. `rate` is one learning rate or one per element.
 * The backend's fused kernel (one dispatch on webgpu) where the kernel registry says so, else the
 * reference path. Returns new tensors (the caller assigns them).
 */
export function adamwUpdate(
  s: AdamwState,
  rate: number | tf.Tensor1D,
  clip: tf.Tensor | number,
  k: AdamwConstants,
): { p: tf.Tensor1D; m: tf.Tensor1D; v: tf.Tensor1D } {
  return kernelFor('adamw') === 'kernel' ? kernelAdamw(s, rate, clip, k) : referenceAdamw(s, rate, clip, k);
}

function kernelAdamw(
  s: AdamwState,
  rate: number | tf.Tensor1D,
  clip: tf.Tensor | number,
  k: AdamwConstants,
): { p: tf.Tensor1D; m: tf.Tensor1D; v: tf.Tensor1D } {
  return tf.tidy(() => {
    // c[0] the scale; with a scalar rate the kernel reads nothing else, so a longer clip tensor serves as it is
    const c0 = typeof clip === 'number' ? tf.tensor1d([clip]) : clip.reshape([-1]);
    const c = typeof rate === 'number' ? c0 : tf.concat([c0.size === 1 ? c0 : c0.slice(0, 1), rate]);
    const attrs = { ...k, rateVector: typeof rate !== 'number', rate: typeof rate === 'number' ? rate : 0 };
    const [p, m, v] = tf
      .engine()
      .runKernel(
        ADAMW_KERNEL,
        { g: s.g, p: s.p, m: s.m, v: s.v, c },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor1D[];
    return { p, m, v };
  });
}

/** The reference path in tf ops (~15 elementwise kernels over the flat vector). */
export function referenceAdamw(
  s: AdamwState,
  rate: number | tf.Tensor1D,
  clip: tf.Tensor | number,
  k: AdamwConstants,
): { p: tf.Tensor1D; m: tf.Tensor1D; v: tf.Tensor1D } {
  return tf.tidy(() => {
    const g = tf.mul(s.g, typeof clip === 'number' || clip.size === 1 ? clip : clip.reshape([-1]).slice(0, 1));
    const m = tf.add(tf.mul(s.m, k.beta1), tf.mul(g, 1 - k.beta1)) as tf.Tensor1D;
    const v = tf.add(tf.mul(s.v, k.beta2), tf.mul(tf.square(g), 1 - k.beta2)) as tf.Tensor1D;
    const update = tf.div(tf.div(m, k.bc1), tf.add(tf.sqrt(tf.div(v, k.bc2)), k.eps));
    let p = tf.sub(s.p, tf.mul(update, rate));
    if (k.weightDecay > 0)
      p = tf.sub(
        p,
        typeof rate === 'number' ? tf.mul(s.p, rate * k.weightDecay) : tf.mul(tf.mul(s.p, rate), k.weightDecay),
      );
    return { p: p as tf.Tensor1D, m, v };
  });
}
