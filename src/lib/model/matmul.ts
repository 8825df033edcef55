import * as tf from '@tensorflow/tfjs';
import { shareWasmIdentity } from './wasm-identity';

/**
 * Matrix products with layouts chosen per backend. tfjs-wasm runs only the plain A·B (no transposes,
 * batch 1) through XNNPACK; a transposed operand falls to a slow loop (measured here: [1024,64]·[172,64]ᵀ
 * 13.9 ms vs 1.5 ms for the same product untransposed). On wasm we therefore transpose explicitly and
 * give the products custom gradients that are plain products too. Elsewhere tf.matMul is used as is.
 */
function plainOnly(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  shareWasmIdentity();
  return true;
}

const transposed = new WeakMap<tf.Tensor, tf.Tensor2D>();

/** Wᵀ of a frozen weight, computed once and kept as long as W lives (a weak cache). */
function cachedTranspose(w: tf.Tensor2D): tf.Tensor2D {
  let t = transposed.get(w);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.transpose(w));
    transposed.set(w, t);
  }
  return t;
}

/** Drop cached transposes of these weights (call when disposing a model). */
export function releaseTransposes(ws: Iterable<tf.Tensor>): void {
  for (const w of ws) {
    const t = transposed.get(w);
    if (t) {
      t.dispose();
      transposed.delete(w);
    }
  }
}

/** x·Wᵀ for a frozen W [out, in]: gradient only for x (dx = dy·W). */
export function matMulFrozenT(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (!plainOnly()) return tf.matMul(x, w, false, true);
  const wt = cachedTranspose(w);
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: tf.matMul(xi as tf.Tensor2D, wt),
    gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, w)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

/** a·bᵀ with gradients for both (da = dy·b, db = dyᵀ·a), every product untransposed on wasm. */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!plainOnly()) return tf.matMul(a, b, false, true);
  const f = tf.customGrad(((ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ai, bi]);
    return {
      value: tf.matMul(ai as tf.Tensor2D, tf.transpose(bi as tf.Tensor2D)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, bs] = saved as tf.Tensor2D[];
        return [tf.matMul(dy as tf.Tensor2D, bs), tf.matMul(tf.transpose(dy as tf.Tensor2D), as)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as tf.Tensor2D;
}

/**
 * x·C for a constant C (no gradient for C), e.g. RoPE's [d, d] rotation. On wasm, autodiff's dx = dy·Cᵀ
 * is a transposed product (the slow loop: 4% of a 6-layer dim-256 step); here Cᵀ is made explicitly.
 */
export function matMulConst(x: tf.Tensor2D, c: tf.Tensor2D): tf.Tensor2D {
  if (!plainOnly()) return tf.matMul(x, c);
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([c]); // the forward pass runs in a tidy: C (made per call) must be saved to outlive it
    return {
      value: tf.matMul(xi as tf.Tensor2D, c),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[0] as tf.Tensor2D)),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}
