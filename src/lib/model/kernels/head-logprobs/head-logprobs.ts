import * as tf from '@tensorflow/tfjs';

/**
 * The fused log-softmax and target pick of the head log-probs (model/logprobs.ts, headLogprobs), over one
 * block of logits l [n, Vb] that the caller's matrix product made (vocabulary columns v0 … v0 + Vb − 1).
 * headLogprobs takes these kernels where kernelFor('head-logprobs') says 'kernel', in place of the
 * reference's chain of tfjs ops (max, sub, exp, sum, log, one-hot, mul, sum forward; exp, sub, one-hot,
 * sub, mul backward); the products with the head stay tfjs's. Two tfjs kernels (webgpu.ts):
 *   PICK  {l [n, Vb], targets [n] int32 (, lse, tl: the running values of the blocks before)}, attrs
 *         {v0, single} → [lp, lse, tl], each [n]: lse the log-sum-exp of the row over the blocks so far,
 *         tl the target's logit (0 while no block held it), lp = tl − lse; with `single` (the whole
 *         vocabulary in one block) lp is computed as the reference's single-block path does,
 *         (l_t − max) − log Σ exp(l − max), and is 0 for a target outside the vocabulary
 *   GRAD  {l, targets, lse [n], dy [n]}, attrs {v0} → d l [n, Vb] = dy·(1[v0 + j = t] − exp(l − lse))
 */
export const LOG_SOFTMAX_PICK = 'CloLabLogSoftmaxPick';
export const LOG_SOFTMAX_PICK_GRAD = 'CloLabLogSoftmaxPickGrad';

/** What PICK writes (a type, not an interface: tf.tidy returns it as a tensor container). */
export type PickState = {
  lp: tf.Tensor1D;
  lse: tf.Tensor1D;
  tl: tf.Tensor1D;
};

/** One block of the forward: the running state after block l (prev: the state after the blocks before, if any). */
export function logSoftmaxPick(
  l: tf.Tensor2D,
  targets: tf.Tensor1D,
  v0: number,
  prev: PickState | null,
  single: boolean,
): PickState {
  const inputs: tf.NamedTensorMap = prev ? { l, targets, lse: prev.lse, tl: prev.tl } : { l, targets };
  const [lp, lse, tl] = tf.engine().runKernel(LOG_SOFTMAX_PICK, inputs, { v0, single }) as tf.Tensor1D[];
  return { lp, lse, tl };
}

/** The gradient of the log-probs with respect to one block of logits. */
export function logSoftmaxPickGrad(
  l: tf.Tensor2D,
  targets: tf.Tensor1D,
  lse: tf.Tensor1D,
  dy: tf.Tensor1D,
  v0: number,
): tf.Tensor2D {
  return tf.engine().runKernel(LOG_SOFTMAX_PICK_GRAD, { l, targets, lse, dy }, { v0 }) as tf.Tensor2D;
}
