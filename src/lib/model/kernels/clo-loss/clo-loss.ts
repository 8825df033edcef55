import * as tf from '@tensorflow/tfjs';

/**
 * The fused CLO loss (webgpu.ts): the whole loss of objectives/clo.ts over the per-sequence sums of one
 * micro-batch, with its metrics, in one kernel forward and one backward. The objective owns the loss and
 * its reference path (tfjs ops, objectives/clo.ts); it takes this op where kernelFor('clo-loss') says
 * 'kernel'. Two tfjs kernels:
 *   FORWARD  {policy [4B], reference [4B], counts [4B]}, attrs {beta, lambda}
 *            → [loss (scalar), values [CLO_LOSS_VALUES.length]]: the loss, then the metrics
 *   BACKWARD {policy, reference, counts, dy (scalar)}, the same attrs → d policy [4B]
 * The sequences come in groups of four (0 (x_en, y_en) chosen, 1 (x_en, y_tgt) rejected, 2 (x_tgt, y_tgt)
 * chosen, 3 (x_tgt, y_en) rejected); the 2B preference pairs are (4b, 4b+1) for b < B, then (4b+2, 4b+3).
 * Only the policy takes a gradient: the reference sums and the counts are constants of the step.
 */
export const CLO_LOSS_FORWARD = 'CloLabCloLoss';
export const CLO_LOSS_BACKWARD = 'CloLabCloLossGrad';

/** The forward's second output, in order: the loss, its two parts, and the reward metrics. */
export const CLO_LOSS_VALUES = ['loss', 'nll', 'pref', 'chosen', 'rejected', 'margins', 'accuracies'] as const;

export interface CloLossAttrs {
  beta: number;
  lambda: number;
}

/**
 * The CLO loss by the backend's kernel: the loss (differentiable with respect to the policy sums) and the
 * values [loss, nll, pref, rewards chosen, rejected, margins, accuracies], both written by one dispatch.
 */
export function kernelCloLoss(
  policy: tf.Tensor1D,
  reference: tf.Tensor1D,
  counts: tf.Tensor1D,
  attrs: CloLossAttrs,
): { loss: tf.Scalar; values: tf.Tensor1D } {
  if (policy.size % 4 !== 0) throw new Error(`CLO loss: ${policy.size} sequences is not a multiple of 4`);
  const [loss, values] = tf
    .engine()
    .runKernel(CLO_LOSS_FORWARD, { policy, reference, counts }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { loss: loss as tf.Scalar, values: values as tf.Tensor1D };
}

/** The forward's gradient (the backward kernel for the policy; the metrics take none). Idempotent. */
export function registerCloLossGradient(): void {
  if (tf.getGradient(CLO_LOSS_FORWARD)) return;
  tf.registerGradient({
    kernelName: CLO_LOSS_FORWARD,
    inputsToSave: ['policy', 'reference', 'counts'],
    gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [policy, reference, counts] = saved;
      return {
        policy: () =>
          tf.engine().runKernel(CLO_LOSS_BACKWARD, { policy, reference, counts, dy }, attrs ?? {}) as tf.Tensor,
        reference: () => tf.zerosLike(reference),
        counts: () => tf.zerosLike(counts),
      };
    },
  });
}
