/**
 * The chunked per-token log-probs (src/lib/model/logprobs.ts headLogprobs: blocks of rows and of the
 * vocabulary under a custom gradient) against a float64 computation by hand and against the
 * straightforward [N, V] path (logits = h·Wᵀ, log-softmax, one-hot pick, tf's own gradient): values
 * and gradients with respect to the hidden states, on random inputs with a large vocabulary, cpu and wasm.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  chunkPlan,
  headLogprobs,
  releaseHeadBlocks,
  tokenLogprobs,
  VOCAB_CHUNK,
  VOCAB_SPLIT_ABOVE,
} from '../../src/lib/model/logprobs';
import { releaseTransposes } from '../../src/lib/model/matmul';
import { gaussian, mulberry32 } from '../../src/lib/model/sample';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

function randn(shape: number[], seed: number, std: number): tf.Tensor {
  const rng = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => gaussian(rng) * std),
    shape,
  );
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The same quantities in float64, by hand: lp_i = h_i·w_t − log Σ_v exp(h_i·w_v); d/dh_i Σ c·lp = c_i (w_t − Σ_v p_v w_v). */
function float64Reference(
  h: Float32Array,
  w: Float32Array,
  t: Int32Array,
  c: Float32Array,
  N: number,
  V: number,
  D: number,
) {
  const lp = new Float64Array(N);
  const g = new Float64Array(N * D);
  const logits = new Float64Array(V);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += h[i * D + d] * w[v * D + d];
      logits[v] = s;
      if (s > m) m = s;
    }
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[v] - m);
    const lse = m + Math.log(z);
    lp[i] = logits[t[i]] - lse;
    for (let v = 0; v < V; v++) {
      const p = Math.exp(logits[v] - lse);
      for (let d = 0; d < D; d++) g[i * D + d] -= c[i] * p * w[v * D + d];
    }
    for (let d = 0; d < D; d++) g[i * D + d] += c[i] * w[t[i] * D + d];
  }
  return { lp, g };
}

/** Straightforward log-probs of targets and their gradient (weighted by c) with respect to h. */
function reference(h: tf.Tensor2D, w: tf.Tensor2D, t: tf.Tensor1D, c: tf.Tensor1D) {
  const f = (x: tf.Tensor2D) =>
    tokenLogprobs(
      tf.matMul(x, w, false, true).reshape([1, x.shape[0], w.shape[0]]) as tf.Tensor3D,
      t.reshape([1, t.shape[0]]) as tf.Tensor2D,
    ).reshape([x.shape[0]]);
  const lp = tf.tidy(() => f(h));
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D), c)))(h));
  return { lp, g };
}

function chunked(
  h: tf.Tensor2D,
  w: tf.Tensor2D,
  t: tf.Tensor1D,
  c: tf.Tensor1D,
  o: Parameters<typeof headLogprobs>[3],
) {
  const lp = tf.tidy(() => headLogprobs(h, w, t, o));
  const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(headLogprobs(x as tf.Tensor2D, w, t, o), c)))(h));
  return { lp, g };
}

describe.each(['cpu', 'wasm'])('chunked log-probs (%s)', (backend) => {
  // V above the split threshold (default plan: 3 vocabulary blocks), and explicit small blocks that
  // leave ragged last blocks (a last vocabulary block of width 1 included).
  const cases: [string, number, number, number, { chunkElements?: number; vocabChunk?: number }][] = [
    ['V 70,000, default blocks (4,096 wide)', 70000, 12, 8, {}],
    ['V 70,000, 5 rows × 2,001 columns', 70000, 11, 8, { chunkElements: 5 * 2001, vocabChunk: 2001 }],
    ['V 1,001, last vocabulary block 1 wide', 1001, 9, 8, { chunkElements: 4 * 500, vocabChunk: 500 }],
    ['V 4,096, rows only (same floats as the straightforward path)', 4096, 40, 32, { chunkElements: 6 * 4096 }],
  ];
  it.each(cases)(
    '%s: values and gradients within 1e-5 of float64, and of the [N, V] path',
    async (_label, V, N, D, o) => {
      await tf.setBackend(backend);
      await tf.ready();
      const before = tf.memory().numTensors;
      const h = randn([N, D], V + N, D === 8 ? 0.9 : 0.6) as tf.Tensor2D;
      const w = randn([V, D], V, D === 8 ? 0.9 : 0.6) as tf.Tensor2D;
      const rng = mulberry32(N * 7 + V);
      // targets spread over the vocabulary, including the first and last ids
      const t = tf.tensor1d(
        Array.from({ length: N }, (_, i) => (i === 0 ? 0 : i === 1 ? V - 1 : Math.floor(rng() * V))),
        'int32',
      );
      const c = tf.tensor1d(Array.from({ length: N }, () => rng() * 2 - 1));
      const plan = chunkPlan(N, V, o);
      if (o.vocabChunk) expect(plan.vocab).toBe(o.vocabChunk);
      else if (V > VOCAB_SPLIT_ABOVE) expect(plan.vocab).toBe(VOCAB_CHUNK);
      const ref = reference(h, w, t, c);
      const got = chunked(h, w, t, c, o);
      const [lr, lg, gr, gg] = await Promise.all([ref.lp.data(), got.lp.data(), ref.g.data(), got.g.data()]);
      const f64 = float64Reference(
        h.dataSync() as Float32Array,
        w.dataSync() as Float32Array,
        t.dataSync() as Int32Array,
        c.dataSync() as Float32Array,
        N,
        V,
        D,
      );
      // log-probs around −log V ≈ −11: 1e-5 absolute is float32 round-off
      expect(Math.min(...lr)).toBeLessThan(-5);
      expect(maxAbsDiff(lg, f64.lp)).toBeLessThan(1e-5);
      expect(Math.max(...Array.from(gr, Math.abs))).toBeGreaterThan(0.1);
      expect(maxAbsDiff(gg, f64.g)).toBeLessThan(1e-5);
      // The straightforward float32 path sums all V exponentials in one reduction: on wasm at V = 70,000 it is
      // itself up to ~3e-4 off the float64 values, so it is compared within 1e-5 only below the split.
      const tol = V > VOCAB_SPLIT_ABOVE ? 5e-4 : 1e-5;
      expect(maxAbsDiff(lr, lg)).toBeLessThan(tol);
      expect(maxAbsDiff(gr, gg)).toBeLessThan(tol);
      if (plan.vocab === V) expect(maxAbsDiff(lr, lg)).toBe(0); // one vocabulary block: the very same operations
      releaseTransposes([w]); // the kept Wᵀ of the wasm products (src/lib/model/matmul.ts)
      releaseHeadBlocks(w);
      tf.dispose([h, w, t, c, ref.lp, ref.g, got.lp, got.g]);
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
