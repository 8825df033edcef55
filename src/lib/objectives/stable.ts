import * as tf from '@tensorflow/tfjs';

/** Stable log-sigmoid: −softplus(−z). */
export function logSigmoid(z: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(z)));
}

/**
 * log(1 − exp(a)) for a < 0 (docs/methods.md §2): a > −ln2 ? log(−expm1(a)) : log1p(−exp(a)), a clamped to ≤ −1e-7.
 * tfjs has no expm1 op, so on (−ln2, 0) it is evaluated as its Taylor series in Horner form to degree 12
 * (truncation error < 1e-10 relative there), which keeps full float32 precision as a → 0 on every backend.
 */
export function expm1Small(x: tf.Tensor): tf.Tensor {
  let acc: tf.Tensor = tf.onesLike(x);
  for (let k = 12; k >= 2; k--) acc = tf.add(1, tf.mul(tf.div(x, k), acc));
  return tf.mul(x, acc);
}

function log1mexpValue(a: tf.Tensor): tf.Tensor {
  const x = tf.minimum(a, -1e-7);
  const isNear = tf.greater(x, -Math.LN2);
  // Feed each branch only inputs in its own range so neither produces NaN or -Infinity.
  const xNear = tf.where(isNear, x, tf.fill(x.shape, -0.5));
  const xFar = tf.where(isNear, tf.fill(x.shape, -1), x);
  const near = tf.log(tf.neg(expm1Small(xNear)));
  const far = tf.log1p(tf.neg(tf.exp(xFar)));
  return tf.where(isNear, near, far);
}

/**
 * The value goes through tf.greater/tf.where, and tfjs has no gradient for Greater, so the gradient is
 * given analytically: d/da log(1 − e^a) = −e^a / (1 − e^a) = −exp(a − log1mexp(a)), and 0 where the clamp holds.
 */
const log1mexpWithGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const value = log1mexpValue(a);
  save([a, value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [x, v] = saved;
      const d = tf.mul(tf.neg(tf.exp(tf.sub(x, v))), tf.cast(tf.lessEqual(x, -1e-7), 'float32'));
      return tf.mul(dy, d);
    },
  };
});

export function log1mexp(a: tf.Tensor): tf.Tensor {
  return log1mexpWithGrad(a);
}
