/**
 * Gradient checkpointing (src/lib/model/forward.ts: each block recomputed in the backward pass) gives
 * the same loss and LoRA gradients as keeping every activation, on cpu and wasm, with LoRA dropout on
 * (the recomputation must draw the same masks); the trainer's losses agree step by step; tensors stay
 * flat over 200 training steps with checkpointing (60 without); and a pass without a gradient tape (the reference pass,
 * scoring) keeps nothing per block: its peak does not grow with depth.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { defaultConfig, type ModelConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import type { ModelLike } from '../../src/lib/model/forward';
import { createLora, disposeLora, withAdapterOff } from '../../src/lib/lora/lora';
import { disposeBatch, packBatch } from '../../src/lib/model/batch';
import { sequenceLogprobs } from '../../src/lib/model/logprobs';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { LoadedModel } from '../../src/lib/model/model';
import type { Tokenizer } from '../../src/lib/tokenizer/types';

import { cloCase, gpt2Variant, randomSeqs } from '../helpers/tiny-models';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const tiny = { dim: 16, nLayers: 3, nHeads: 4, nKvHeads: 2, vocabSize: 40, hiddenDim: 24, maxSeqLen: 32 };
const CONFIGS: Record<string, ModelConfig> = {
  'llama, rope half, GQA': defaultConfig({ ...tiny, ropeStyle: 'half' }),
  'gpt2 (learned positions, LayerNorm, GELU, biases)': gpt2Variant(tiny),
};

const makeSeqs = (n: number, V: number, seed: number) => randomSeqs(n, V, seed, 6, 10);

describe.each(['cpu', 'wasm'])('gradient checkpointing (%s)', (backend) => {
  it.each(Object.keys(CONFIGS))('%s: CLO loss and LoRA gradients equal with and without it (1e-5)', async (label) => {
    await tf.setBackend(backend);
    await tf.ready();
    const cfg = CONFIGS[label];
    const { vars, loss: cloLoss, dispose } = cloCase(cfg, makeSeqs(8, cfg.vocabSize, 4));
    const run = (checkpointing: boolean) => tf.variableGrads(() => cloLoss(1234, checkpointing), vars);
    const plain = run(false);
    const ckpt = run(true);
    const l0 = plain.value.dataSync()[0];
    const l1 = ckpt.value.dataSync()[0];
    expect(Number.isFinite(l0)).toBe(true);
    expect(Math.abs(l0 - l1)).toBeLessThan(1e-5);
    let maxDiff = 0;
    let maxAbs = 0;
    for (const v of vars) {
      const a = plain.grads[v.name].dataSync();
      const b = ckpt.grads[v.name].dataSync();
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        maxAbs = Math.max(maxAbs, Math.abs(a[i]));
      }
    }
    expect(maxAbs).toBeGreaterThan(1e-3); // real gradients, not zeros on both sides
    expect(maxDiff).toBeLessThan(1e-5);
    // dropout is on: a different seed gives a different loss, so equal losses above mean equal masks
    const other = tf.tidy(() => cloLoss(99).dataSync()[0]);
    expect(Math.abs(other - l0)).toBeGreaterThan(1e-4);
    tf.dispose([plain.value, ckpt.value, ...Object.values(plain.grads), ...Object.values(ckpt.grads)]);
    dispose();
  });
});

/** A tokenizer for the trainer: one token per character (ids 3..), BOS 1, EOS 2. */
const charTok: Tokenizer = {
  vocabSize: 40,
  bosId: 1,
  eosId: 2,
  encode: (s: string) => [1, ...Array.from(s, (ch) => 3 + (ch.charCodeAt(0) % 37))],
  decode: (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join(''),
} as unknown as Tokenizer;

function tinyModel(): LoadedModel {
  const cfg = CONFIGS['llama, rope half, GQA'];
  return { name: 'tiny', config: cfg, weights: randomWeights(cfg, 2, 0.1), tokenizer: charTok, source: 'random' };
}

const ROWS = Array.from({ length: 6 }, (_, i) => ({
  kind: 'clo' as const,
  xEn: `q${i} en `,
  yEn: `answer ${i}`,
  xTgt: `q${i} ko `,
  yTgt: `dap ${i}x`,
  lang: 'ko',
}));

describe('trainer with checkpointing', () => {
  it('logs the same losses as without it, step by step (CLO, wasm)', async () => {
    await tf.setBackend('wasm');
    const model = tinyModel();
    const losses = async (checkpointing: boolean) => {
      const t = Trainer.create(
        model,
        ROWS,
        defaultTrainConfig('clo', { steps: 4, batchSize: 2, lr: 1e-2, maxSeqLen: 32, seed: 1, checkpointing }),
      );
      const out: number[] = [];
      while (!t.done) out.push((await t.step()).loss);
      t.dispose();
      return out;
    };
    const a = await losses(false);
    const b = await losses(true);
    expect(a.length).toBe(4);
    expect(a[3]).not.toBeCloseTo(a[0], 4); // it trains
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
  });

  // 200 steps with checkpointing (the nested-tape path), 60 without; one row per micro-batch, two micro-batches.
  it.each([
    [true, 200],
    [false, 60],
  ])(
    'tensor count and bytes stay flat over many steps (checkpointing %s, %i steps)',
    async (checkpointing, steps) => {
      await tf.setBackend('wasm');
      const model = tinyModel();
      const t = Trainer.create(
        model,
        ROWS,
        defaultTrainConfig('clo', { steps, batchSize: 1, gradAccum: 2, maxSeqLen: 32, seed: 3, checkpointing }),
      );
      const seen: { n: number; bytes: number }[] = [];
      while (!t.done) {
        await t.step();
        seen.push({ n: tf.memory().numTensors, bytes: tf.memory().numBytes });
      }
      t.dispose();
      expect(seen.length).toBe(steps);
      // after the first steps (kept transposes of the frozen weights are made once), nothing accumulates
      for (const s of seen.slice(5)) expect(s).toEqual(seen[4]);
    },
    600_000,
  );
});

describe('a pass without a gradient tape keeps nothing per block', () => {
  it('peak of a reference pass does not grow with the number of layers (wasm)', async () => {
    await tf.setBackend('wasm');
    const peakOf = async (nLayers: number) => {
      const cfg = defaultConfig({ dim: 32, nLayers, nHeads: 4, vocabSize: 64, hiddenDim: 64, maxSeqLen: 64 });
      const model: ModelLike = { config: cfg, weights: randomWeights(cfg, 1, 0.1) };
      const lora = createLora(cfg, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' }, 1);
      const batch = packBatch(
        makeSeqs(16, 64, 7).map((s) => ({ ids: [...s.ids, ...s.ids, ...s.ids].slice(0, 48), start: 2 })),
        64,
        16,
      );
      tf.tidy(() => withAdapterOff(lora, () => sequenceLogprobs(model, batch, lora, false))).dispose(); // warm caches
      const before = tf.memory().numBytes;
      const prof = await tf.profile(() => {
        tf.tidy(() => withAdapterOff(lora, () => sequenceLogprobs(model, batch, lora, false))).dispose();
      });
      disposeBatch(batch);
      disposeLora(lora);
      return prof.peakBytes - before;
    };
    const p2 = await peakOf(2);
    const p12 = await peakOf(12);
    expect(p2).toBeGreaterThan(0);
    // keeping every block's activations would make the 12-layer pass ~6× the 2-layer one
    expect(p12).toBeLessThan(p2 * 1.2);
  });
});
