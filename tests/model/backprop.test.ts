/**
 * The eager back-propagation (src/lib/model/backprop.ts) against tfjs' own engine.gradients: a CLO loss
 * over a small decoder with LoRA on every linear (dropout on), with and without checkpointing, on cpu
 * and wasm. Same loss and the same LoRA gradients (the walk runs the same kernels in the same order),
 * nothing left behind, and a lower peak. Plus a corner case of freeing early: a caller's dy is never freed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { defaultConfig, type ModelConfig } from '../../src/lib/model/config';
import { installEagerBackward, uninstallEagerBackward } from '../../src/lib/model/backprop';
import { installWasmKernels } from '../../src/lib/model/kernels/install';
import { cloCase, gpt2Variant, randomSeqs } from '../helpers/tiny-models';

const tiny = { dim: 32, nLayers: 3, nHeads: 4, nKvHeads: 2, vocabSize: 50, hiddenDim: 48, maxSeqLen: 32 };
const CONFIGS: Record<string, ModelConfig> = {
  'llama (RMSNorm, SwiGLU, rope, GQA)': defaultConfig({ ...tiny, ropeStyle: 'half' }),
  'gpt2 (LayerNorm, GELU, biases)': gpt2Variant(tiny),
};

// the wasm kernels only: each test installs the eager backward itself, to compare it with tfjs's walk
installWasmKernels();

const makeSeqs = (n: number, V: number, seed: number) => randomSeqs(n, V, seed, 10, 14);

afterEach(() => uninstallEagerBackward());

describe.each(['cpu', 'wasm'])('eager back-propagation (%s)', (backend) => {
  it.each(Object.keys(CONFIGS).flatMap((c) => [[c, false] as const, [c, true] as const]))(
    '%s, checkpointing %s: same CLO loss and LoRA gradients as tfjs, nothing left over, lower peak',
    async (label, checkpointing) => {
      await tf.setBackend(backend);
      await tf.ready();
      const cfg = CONFIGS[label];
      const { vars, loss: cloLoss, dispose } = cloCase(cfg, makeSeqs(8, cfg.vocabSize, 4));
      const run = async () => {
        const before = tf.memory().numTensors;
        let out: { value: tf.Scalar; grads: tf.NamedTensorMap } | null = null;
        const prof = await tf.profile(() => {
          out = tf.variableGrads(() => cloLoss(1234, checkpointing), vars);
        });
        const { value, grads } = out!;
        const loss = value.dataSync()[0];
        const g = vars.map((v) => grads[v.name].dataSync().slice());
        tf.dispose([value, ...Object.values(grads)]);
        return { loss, g, peak: prof.peakBytes, left: tf.memory().numTensors - before };
      };
      const tfjs = await run();
      installEagerBackward();
      const eager = await run();
      expect(Number.isFinite(tfjs.loss)).toBe(true);
      expect(eager.loss).toBe(tfjs.loss);
      let maxDiff = 0;
      let maxAbs = 0;
      tfjs.g.forEach((a, k) => {
        for (let i = 0; i < a.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[i] - eager.g[k][i]));
          maxAbs = Math.max(maxAbs, Math.abs(a[i]));
        }
      });
      expect(maxAbs).toBeGreaterThan(1e-3);
      expect(maxDiff).toBe(0);
      expect(tfjs.left).toBe(0);
      expect(eager.left).toBe(0);
      expect(eager.peak).toBeLessThan(tfjs.peak);
      dispose();
    },
  );
});

describe('eager back-propagation: what it must not free', () => {
  it("keeps a caller's dy; a chain of nodes still gives the right gradient", async () => {
    await tf.setBackend('cpu');
    installEagerBackward();
    const a = tf.tensor1d([1, 2, 3]);
    const dy = tf.tensor1d([1, 1, 1]);
    // y = (a·a)·2 with dy = 1: dy/da = 4a
    const { value, grads } = tf.engine().gradients(() => tf.mul(tf.mul(a, a), 2), [a], dy);
    expect(Array.from(grads[0].dataSync())).toEqual([4, 8, 12]);
    expect(dy.isDisposed).toBe(false);
    tf.dispose([value, ...grads]);
    const g = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(tf.square(x), 3)))([a])[0];
    expect(Array.from(g.dataSync())).toEqual([6, 12, 18]);
    g.dispose();
    tf.dispose([a, dy]);
  });
});
