/**
 * docs/methods.md §2: log1mexp and log-sigmoid must be finite and accurate where the naive formulas break
 * (a → 0⁻, large magnitudes). References are float64 values from JS Math (expm1/log1p), computed here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { log1mexp, logSigmoid } from '../../src/lib/objectives/stable';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

/** float64 reference of log(1 − e^a), with the spec's clamp a ≤ −1e-7. */
function refLog1mexp(a: number): number {
  const x = Math.min(a, -1e-7);
  // Two independent float64 routes; they must agree where both are accurate.
  return x > -0.5 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}
/** d/da log(1 − e^a) = −1/expm1(−a); zero where the clamp holds a at −1e-7. */
function refLog1mexpGrad(a: number): number {
  if (a > -1e-7) return 0;
  return -1 / Math.expm1(-a);
}
/** log σ(z) in float64. */
function refLogSigmoid(z: number): number {
  return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
}
/** d/dz log σ(z) = σ(−z). */
function refLogSigmoidGrad(z: number): number {
  return z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
}

const A = [-1e-10, -1e-7, -1e-5, -1e-3, -0.1, -Math.LN2 + 1e-3, -Math.LN2, -Math.LN2 - 1e-3, -1, -5, -50, -1e4];
const Z = [-1e4, -100, -20, -1, -1e-3, 0, 1e-3, 1, 20, 100, 1e4];

/** |got − ref| ≤ rel·|ref| + abs */
function close(got: number, ref: number, rel: number, abs: number): boolean {
  return Number.isFinite(got) && Math.abs(got - ref) <= rel * Math.abs(ref) + abs;
}

async function values(f: (x: tf.Tensor) => tf.Tensor, xs: number[]): Promise<{ y: number[]; g: number[] }> {
  const x = tf.tensor1d(xs, 'float32');
  const y = tf.tidy(() => f(x));
  // gradient of sum(f(x)) = elementwise derivative
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(f(t)))(x));
  const out = { y: Array.from(await y.data()), g: Array.from(await g.data()) };
  tf.dispose([x, y, g]);
  return out;
}

for (const backend of ['cpu', 'wasm']) {
  describe(`stable functions on ${backend}`, () => {
    it('sets the backend', async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      await tf.ready();
      expect(tf.getBackend()).toBe(backend);
    });

    it('log1mexp is finite and matches float64 log(1 − e^a) (a clamped to ≤ −1e-7)', async () => {
      await tf.setBackend(backend);
      const { y } = await values(log1mexp, A);
      A.forEach((a, i) => {
        const ref = refLog1mexp(Math.fround(a));
        // float32 output: 1e-5 relative; tiny values (a ≤ −50 gives ≈ −e^a) get an absolute floor of 1e-12
        if (!close(y[i], ref, 1e-5, 1e-12)) throw new Error(`log1mexp(${a}) = ${y[i]}, expected ${ref}`);
      });
      // spot values by formula: log1mexp(−ln2) = log(1/2); log1mexp(−1e-5) ≈ log(1e-5) − 5e-6
      expect(Math.abs(y[A.indexOf(-Math.LN2)] - Math.log(0.5))).toBeLessThan(1e-6);
      expect(Math.abs(y[A.indexOf(-1e-5)] - (Math.log(1e-5) - 5e-6))).toBeLessThan(1e-5);
      // the clamp: a = −1e-10 is treated as −1e-7 (≈ log(1e-7) = −16.118)
      expect(Math.abs(y[0] - Math.log(1e-7))).toBeLessThan(1e-4);
    });

    it('log1mexp gradients are finite and match −1/expm1(−a)', async () => {
      await tf.setBackend(backend);
      const { g } = await values(log1mexp, A);
      A.forEach((a, i) => {
        const x = Math.fround(a);
        if (x > Math.fround(-1e-7)) {
          expect(g[i] === 0).toBe(true); // clamped: no gradient (±0)
          return;
        }
        const ref = refLog1mexpGrad(x);
        if (!close(g[i], ref, 1e-3, 1e-12)) throw new Error(`d log1mexp(${a}) = ${g[i]}, expected ${ref}`);
      });
    });

    it('log-sigmoid is finite and matches float64 at ±100, ±1e4 and around 0', async () => {
      await tf.setBackend(backend);
      const { y, g } = await values(logSigmoid, Z);
      Z.forEach((z, i) => {
        const ref = refLogSigmoid(z);
        if (!close(y[i], ref, 1e-5, 1e-7)) throw new Error(`logSigmoid(${z}) = ${y[i]}, expected ${ref}`);
        const gr = refLogSigmoidGrad(z);
        if (!close(g[i], gr, 1e-4, 1e-7)) throw new Error(`d logSigmoid(${z}) = ${g[i]}, expected ${gr}`);
      });
      expect(y[Z.indexOf(-1e4)]).toBeCloseTo(-1e4, 0);
      expect(y[Z.indexOf(0)]).toBeCloseTo(-Math.LN2, 6);
    });
  });
}

afterAll(async () => {
  await tf.setBackend('cpu');
});
