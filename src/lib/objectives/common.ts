import * as tf from '@tensorflow/tfjs';
import { logSigmoid } from './stable';

/**
 * Select every `stride`-th element starting at `offset` from a [n] vector, by reshape + slice
 * (differentiable on every backend; gather's gradient is missing on wasm).
 */
export function pick(x: tf.Tensor1D, offset: number, stride: number): tf.Tensor1D {
  const n = x.shape[0];
  if (n % stride !== 0) throw new Error(`pick: length ${n} is not a multiple of ${stride}`);
  return tf.slice(x.reshape([n / stride, stride]), [0, offset], [n / stride, 1]).reshape([n / stride]) as tf.Tensor1D;
}

/** Token-mean negative log-likelihood over a set of sequences: −Σ logp / Σ tokens. */
export function tokenMeanNll(sumLogp: tf.Tensor1D, counts: tf.Tensor1D): tf.Scalar {
  return tf.neg(tf.div(tf.sum(sumLogp), tf.sum(counts))) as tf.Scalar;
}

/**
 * DPO over aligned chosen/rejected vectors: −log σ(β[(πc − refc) − (πr − refr)]), plus TRL-style reward metrics
 * (reward = β·(logπθ − logπref) summed over the response).
 */
export function dpoTerms(pc: tf.Tensor1D, pr: tf.Tensor1D, rc: tf.Tensor1D, rr: tf.Tensor1D, beta: number) {
  const chosenReward = tf.mul(tf.sub(pc, rc), beta);
  const rejectedReward = tf.mul(tf.sub(pr, rr), beta);
  const margin = tf.sub(chosenReward, rejectedReward);
  const loss = tf.mean(tf.neg(logSigmoid(margin))) as tf.Scalar;
  return {
    loss,
    metrics: {
      'rewards/chosen': tf.mean(chosenReward) as tf.Scalar,
      'rewards/rejected': tf.mean(rejectedReward) as tf.Scalar,
      'rewards/margins': tf.mean(margin) as tf.Scalar,
      'rewards/accuracies': tf.mean(tf.cast(tf.greater(margin, 0), 'float32')) as tf.Scalar,
    },
  };
}
