import * as tf from '@tensorflow/tfjs';

/**
 * The LoRA term s·(x·Aᵀ)·Bᵀ of a linear layer (x [N, in], A [r, in], B [out, r]), with a custom
 * gradient in which every transpose is of an r-wide tensor and the scale multiplies an [N, r] tensor:
 *   d = s·(x·Aᵀ)   y = d·Bᵀ
 *   dB = (dᵀ·dy)ᵀ   dd = dy·B   dA = (s·dd)ᵀ·x   dx = (s·dd)·A
 * Autodiff of the plain form transposes the [N, out] cotangent for dB and scales the [N, out] output
 * (on the 6-layer dim-256 bench config: 24 transposes of [1024, 256], 70 ms of an 1.8 s wasm step).
 * All products are plain (untransposed operands), which tfjs-wasm runs through XNNPACK.
 */
export function loraDelta(x: tf.Tensor2D, A: tf.Tensor2D, B: tf.Tensor2D, scale: number): tf.Tensor2D {
  const f = tf.customGrad(((xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const d = tf.mul(tf.matMul(xi as tf.Tensor2D, tf.transpose(ai as tf.Tensor2D)), scale) as tf.Tensor2D;
    save([xi, ai, bi, d]);
    return {
      value: tf.matMul(d, tf.transpose(bi as tf.Tensor2D)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, as, bs, ds] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        const dB = tf.transpose(tf.matMul(tf.transpose(ds), g));
        const dd = tf.mul(tf.matMul(g, bs), scale) as tf.Tensor2D;
        const dA = tf.matMul(tf.transpose(dd), xs);
        const dx = tf.matMul(dd, as);
        return [dx, dA, dB];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, A, B) as tf.Tensor2D;
}
