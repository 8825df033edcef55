import * as tf from '@tensorflow/tfjs';
import { plainProductsOnly } from './kernels/registry';
import { PackedWeight, packedMatMul, packedProduct, packedProductT } from './kernels/packed-matmul/packed-matmul';
import type { LinearWeight } from './weights';

/**
 * Matrix products with layouts chosen per backend. tfjs-wasm runs only the plain A·B (no transposes,
 * batch 1) through XNNPACK; a transposed operand falls to a slow loop (measured here: [1024,64]·[172,64]ᵀ
 * 13.9 ms vs 1.5 ms for the same product untransposed). On wasm we therefore transpose explicitly and
 * give the products custom gradients that are plain products too (where kernels/registry.ts's
 * plainProductsOnly says so). Elsewhere tf.matMul is used as is.
 */

/**
 * Wᵀ copies of frozen weights, kept while W lives, up to DEFAULT_TRANSPOSE_CACHE_BYTES in all (first
 * used, first kept). A model whose frozen matrices fit (stories260K, the 6-layer dim-256 model: a few
 * MiB) gets every product as one plain x·Wᵀ, as before. Beyond the budget (SmolLM2-135M: 425 MB of
 * copies) x·Wᵀ is computed as (W·xᵀ)ᵀ: two activation-sized transposes around a plain product, and no
 * second copy of the weight (nor XNNPACK's packed copy of it in the wasm heap). On the 6-layer model
 * both forms ran a profiled SFT step (8 × 128) in the same time (7.6 s, shared machine).
 */
export const DEFAULT_TRANSPOSE_CACHE_BYTES = 64 * 2 ** 20;
let cacheBudget = DEFAULT_TRANSPOSE_CACHE_BYTES;
const transposed = new Map<tf.Tensor, tf.Tensor2D>();
let cachedBytes = 0;

/** Set the budget for kept transposes (bytes; 0 = never keep one). Drops the copies kept so far. */
export function setTransposeCacheBytes(bytes: number): void {
  cacheBudget = bytes;
  releaseTransposes([...transposed.keys()]);
}

/** Bytes of Wᵀ copies kept now. */
export function transposeCacheBytes(): number {
  return cachedBytes;
}

/** Wᵀ of a frozen weight, computed once and kept as long as W lives; null when over the budget. */
function cachedTranspose(w: tf.Tensor2D): tf.Tensor2D | null {
  const t = transposed.get(w);
  if (t && !t.isDisposed && !w.isDisposed) return t;
  if (t) releaseTransposes([w]);
  const bytes = 4 * w.size;
  if (cachedBytes + bytes > cacheBudget) {
    // copies of weights disposed without releaseTransposes still count: drop them and look again
    releaseTransposes([...transposed.keys()].filter((k) => k.isDisposed));
    if (cachedBytes + bytes > cacheBudget) return null;
  }
  const made = tf.keep(tf.transpose(w));
  transposed.set(w, made);
  cachedBytes += bytes;
  return made;
}

/** Drop cached transposes of these weights (call when disposing a model). */
export function releaseTransposes(ws: Iterable<tf.Tensor>): void {
  for (const w of ws) {
    const t = transposed.get(w);
    if (t) {
      cachedBytes -= 4 * t.size;
      t.dispose();
      transposed.delete(w);
    }
  }
}

/** The value of x·Wᵀ for a frozen W [out, in], as matMulFrozenT computes it (no gradient of its own). */
export function frozenProductT(x: tf.Tensor2D, w: LinearWeight): tf.Tensor2D {
  if (w instanceof PackedWeight) return packedProductT(x, w);
  if (!plainProductsOnly()) return tf.matMul(x, w, false, true);
  const wt = cachedTranspose(w);
  return wt ? tf.matMul(x, wt) : (tf.transpose(tf.matMul(w, tf.transpose(x))) as tf.Tensor2D);
}

/** The value of a·bᵀ as matMulT computes it (no gradient of its own). */
export function productT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!plainProductsOnly()) return tf.matMul(a, b, false, true);
  return tf.matMul(a, tf.transpose(b));
}

/** dy·W for a frozen W [out, in], the activation gradient of x·Wᵀ (no gradient of its own). */
export function frozenProduct(dy: tf.Tensor2D, w: LinearWeight): tf.Tensor2D {
  return w instanceof PackedWeight ? packedProduct(dy, w) : tf.matMul(dy, w);
}

/**
 * x·Wᵀ for a frozen W [out, in]: gradient only for x (dx = dy·W). A packed W (packed-base.ts: no f32
 * copy, no transposed copy) goes through the packed product, whose gradient is the packed dy·W.
 */
export function matMulFrozenT(x: tf.Tensor2D, w: LinearWeight): tf.Tensor2D {
  if (w instanceof PackedWeight) return packedMatMul(x, w);
  if (!plainProductsOnly()) return tf.matMul(x, w, false, true);
  const f = tf.customGrad(((xi: tf.Tensor) => ({
    value: frozenProductT(xi as tf.Tensor2D, w),
    gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, w)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

/** a·bᵀ with gradients for both (da = dy·b, db = dyᵀ·a), every product untransposed on wasm. */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!plainProductsOnly()) return tf.matMul(a, b, false, true);
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
  if (!plainProductsOnly()) return tf.matMul(x, c);
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
