import * as tf from '@tensorflow/tfjs';

/**
 * The response rows of a packed batch on their way to and from the output head (model/logprobs.ts,
 * sequenceLogprobs), where kernelFor('response-rows') says 'kernel': the hidden states of the response
 * rows are gathered (tfjs's gather), and their gradient put back in place by one kernel (SCATTER; tfjs's
 * gather gradient runs a transpose, a fill, the segment sum and a transpose); the rows' log-probs are
 * summed per sequence by one kernel (SEQUENCE_SUM; the reference scatters them back to [B, T], masks and
 * sums), whose gradient is one gather. The response rows are ascending (packBatch), so each sequence's
 * rows are one contiguous range. Two tfjs kernels (webgpu.ts):
 *   SCATTER       {dy [M, D], slot [N] int32: the row of dy that row n takes, −1 for none} → [N, D]
 *   SEQUENCE_SUM  {x [M], starts [S + 1] int32: sequence s holds rows starts[s] … starts[s+1] − 1} → [S]
 */
export const SCATTER_ROWS = 'CloLabScatterRows';
export const SEQUENCE_SUM = 'CloLabSequenceSum';

/** Rows `rows` (distinct) of x [N, D]: [M, D]; the gradient is scattered back by the kernel. */
export function gatherRows(x: tf.Tensor2D, rows: Int32Array): tf.Tensor2D {
  const N = x.shape[0];
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: tf.gather(xi, tf.tensor1d(rows, 'int32')),
    gradFunc: (dy: tf.Tensor) => {
      const slot = new Int32Array(N).fill(-1);
      rows.forEach((r, j) => (slot[r] = j));
      return [tf.engine().runKernel(SCATTER_ROWS, { dy, slot: tf.tensor1d(slot, 'int32') }, {}) as tf.Tensor];
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

/** Sums of x [M] over S contiguous ranges (starts [S + 1], ascending, from 0 to M): [S]. */
export function sequenceSums(x: tf.Tensor1D, starts: Int32Array): tf.Tensor1D {
  const S = starts.length - 1;
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: tf.engine().runKernel(SEQUENCE_SUM, { x: xi, starts: tf.tensor1d(starts, 'int32') }, {}) as tf.Tensor,
    gradFunc: (dy: tf.Tensor) => {
      // row j takes the gradient of its sequence
      const seq = new Int32Array(x.shape[0]);
      for (let s = 0; s < S; s++) seq.fill(s, starts[s], starts[s + 1]);
      return [tf.gather(dy, tf.tensor1d(seq, 'int32'))];
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor1D;
}
