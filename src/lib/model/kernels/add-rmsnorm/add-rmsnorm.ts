import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../registry';
import { referenceRmsNorm, rmsNorm } from '../rmsnorm/rmsnorm';

/**
 * The tfjs kernels of the fused residual add and RMSNorm (webgpu.ts). Forward: inputs a, b [N, D], w [D],
 * attribute eps; two outputs, s = a + b and y = RMSNorm(s)·w. Backward: inputs s, w, dy (+ ds, the
 * gradient of s where s is used further), attribute eps; one output, ds + dRMSNorm(s)ᵀ·dy, the gradient
 * of both a and b.
 */
export const ADD_RMSNORM_FORWARD = 'CloLabAddRMSNorm';
export const ADD_RMSNORM_BACKWARD = 'CloLabAddRMSNormGrad';

/** The residual sum and its norm. */
export interface AddNormed {
  sum: tf.Tensor2D;
  normed: tf.Tensor2D;
}

/** a + b for tensors of one shape, keeping nothing for the backward pass (autodiff keeps both addends). */
export function addSame(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((ai: tf.Tensor, bi: tf.Tensor) => ({
    value: tf.add(ai, bi),
    gradFunc: (dy: tf.Tensor) => [dy.clone(), dy.clone()],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as tf.Tensor2D;
}

/** Whether the fused kernel runs for weight w: a frozen one (a Variable takes autodiff) where the registry says so. */
const fused = (w: tf.Tensor) => !(w instanceof tf.Variable) && kernelFor('add-rmsnorm') === 'kernel';

/**
 * The residual add and the RMSNorm that reads it: s = a + b and RMSNorm(s)·w (over the last axis, as
 * rmsNorm). Where the kernel registry says so, one fused kernel each way (forward: one pass writes s and
 * the norm; backward: one pass gives the gradient of a and b, the norm's gradient plus that of s), keeping
 * s for the backward as the norm alone does; else addSame and rmsNorm.
 */
export function addRmsNorm(a: tf.Tensor2D, b: tf.Tensor2D, w: tf.Tensor, eps: number): AddNormed {
  if (!fused(w)) {
    const sum = addSame(a, b);
    return { sum, normed: rmsNorm(sum, w, eps) };
  }
  const [sum, normed] = tf.engine().runKernel(ADD_RMSNORM_FORWARD, { a, b, w }, { eps }) as tf.Tensor2D[];
  return { sum, normed };
}

/**
 * RMSNorm(a + b)·w where the sum is not needed further (the final norm): the same fused forward, and a
 * backward without the sum's own gradient.
 */
export function addThenRmsNorm(a: tf.Tensor2D, b: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor2D {
  if (!fused(w)) return rmsNorm(addSame(a, b), w, eps);
  const f = tf.customGrad(((ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [s, y] = tf.engine().runKernel(ADD_RMSNORM_FORWARD, { a: ai, b: bi, w }, { eps }) as tf.Tensor[];
    save([s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = tf.engine().runKernel(ADD_RMSNORM_BACKWARD, { s: saved[0], w, dy }, { eps }) as tf.Tensor;
        return [g, g.clone()];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as tf.Tensor2D;
}

/** The reference path: addSame, then the RMSNorm reference path. */
export function referenceAddRmsNorm(a: tf.Tensor2D, b: tf.Tensor2D, w: tf.Tensor, eps: number): AddNormed {
  const sum = addSame(a, b);
  return { sum, normed: referenceRmsNorm(sum, w, eps) };
}

/**
 * The gradient of the two-output forward kernel, registered with tfjs beside the kernels (webgpu.ts): a
 * kernel with two outputs takes a registered gradient, not a custom one. It keeps w and s; w is frozen
 * (no gradient). One backward kernel gives the gradient of a, and b shares it.
 */
export const ADD_RMSNORM_GRAD: tf.GradConfig = {
  kernelName: ADD_RMSNORM_FORWARD,
  inputsToSave: ['w'],
  outputsToSave: [true, false],
  gradFunc: (dys, saved, attrs) => {
    const [ds, dy] = dys as tf.Tensor[];
    const [w, s] = saved;
    let g: tf.Tensor | null = null;
    const grad = () =>
      (g ??= tf.engine().runKernel(ADD_RMSNORM_BACKWARD, { s, w, dy, ds }, { eps: attrs.eps }) as tf.Tensor);
    return { a: () => grad(), b: () => grad().clone() };
  },
};
