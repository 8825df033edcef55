/**
 * Full-rank training of chosen modules (src/lib/train/full-rank.ts + the Trainer hook):
 * gradients of the chosen weights against central finite differences (cpu and wasm, where the
 * frozen-weight matmul path is bypassed), only those weights change, the reference pass sees the
 * original weights (CLO's first reward margin is 0, later reference scores equal the base model's),
 * AdamW state exists only for those weights, and detach() restores the model.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import type { LoadedModel } from '../../src/lib/model/model';
import { disposeBatch, packBatch } from '../../src/lib/model/batch';
import { sequenceLogprobs } from '../../src/lib/model/logprobs';
import { FullRank } from '../../src/lib/train/full-rank';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { scoreSequences } from '../../src/lib/model/score';
import type { TrainRow } from '../../src/lib/data/rows';
import { loadStories } from '../helpers/helpers';
import { DEFAULT_LORA } from '../../src/lib/lora/types';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

async function gradCheck(backend: string) {
  await tf.setBackend(backend);
  const cfg = defaultConfig({
    dim: 16,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    vocabSize: 32,
    hiddenDim: 24,
    maxSeqLen: 32,
    ropeStyle: 'interleaved',
  });
  const model = { name: 'tiny', config: cfg, weights: randomWeights(cfg, 3, 0.2) } as unknown as LoadedModel;
  const fr = new FullRank(model, ['q_proj', 'v_proj']);
  expect(fr.keys).toEqual(['0.q_proj.w', '0.v_proj.w', '1.q_proj.w', '1.v_proj.w']);
  const batch = packBatch(
    [
      { ids: [1, 5, 9, 4, 22, 7, 3, 11], start: 3 },
      { ids: [1, 8, 8, 30, 2, 6], start: 2 },
    ],
    32,
  );
  const f = () => tf.sum(sequenceLogprobs(model, batch, null, false)) as tf.Scalar;
  const { grads, value } = tf.variableGrads(f, fr.vars);
  value.dispose();
  const eps = 1e-2;
  for (const [vi, idx] of [
    [0, 5],
    [1, 17],
    [2, 40],
    [3, 100],
  ]) {
    const v = fr.vars[vi];
    const g = (await grads[v.name].data())[idx];
    const base = (await v.data()) as Float32Array;
    const at = async (d: number) => {
      const w = base.slice();
      w[idx] += d;
      v.assign(tf.tensor(w, v.shape));
      const s = f();
      const r = (await s.data())[0];
      s.dispose();
      return r;
    };
    const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    v.assign(tf.tensor(base, v.shape));
    expect(Math.abs(g - fd), `${backend} var ${vi}[${idx}]: analytic ${g} vs finite difference ${fd}`).toBeLessThan(
      2e-3 + 0.02 * Math.abs(fd),
    );
    expect(Math.abs(g)).toBeGreaterThan(1e-5);
  }
  Object.values(grads).forEach((g) => g.dispose());
  disposeBatch(batch);
  fr.detach();
}

const rows: TrainRow[] = [
  {
    kind: 'clo',
    xEn: 'Tell a story.',
    yEn: 'Once upon a time there was a cat.',
    xTgt: '이야기를 해줘.',
    yTgt: '옛날에 고양이가 있었어요.',
    lang: 'ko',
  },
  { kind: 'clo', xEn: 'Say hello.', yEn: 'Hello, friend!', xTgt: '인사해줘.', yTgt: '안녕, 친구!', lang: 'ko' },
];

describe('full-rank training', () => {
  it('gradients of the chosen weights match finite differences (cpu)', () => gradCheck('cpu'));
  it('gradients of the chosen weights match finite differences (wasm)', () => gradCheck('wasm'));

  it('CLO at full rank: only the chosen weights move, the reference is the base model, detach restores it', async () => {
    await tf.setBackend('wasm');
    const model = loadStories();
    const L = model.weights.layers;
    const before = {
      q: (await (L[0].linears.q_proj!.w as tf.Tensor2D).data()).slice(),
      up: (await (L[0].linears.up_proj!.w as tf.Tensor2D).data()).slice(),
      embed: (await model.weights.embed.data()).slice(),
    };
    const item = { ids: model.tokenizer.encode('Once upon a time, a cat sat.', { bos: true }), start: 1 };
    const baseScore = (await scoreSequences(model, [item]))[0].sum;
    const fr = new FullRank(model, ['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    const cfg = defaultTrainConfig('clo', {
      steps: 3,
      batchSize: 2,
      maxSeqLen: 64,
      lr: 1e-2,
      lora: { ...DEFAULT_LORA, targets: [] },
    });
    const t = Trainer.create(model, rows, cfg, undefined, fr);
    const m1 = await t.step();
    expect(m1['rewards/margins']).toBe(0); // policy = reference before the first update
    await t.step();
    const m3 = await t.step();
    expect(Math.abs(m3['rewards/margins']!)).toBeGreaterThan(0);
    const ck = await t.checkpoint();
    expect(Object.keys(ck.optimizer.m).sort()).toEqual([...fr.keys].sort()); // AdamW state only for the full-rank weights
    expect(fr.keys).toHaveLength(model.config.nLayers * 4);
    expect(Object.keys(ck.lora.tensors)).toHaveLength(0);
    const q = (await (L[0].linears.q_proj!.w as tf.Tensor2D).data()) as Float32Array;
    expect(q.some((x, i) => x !== before.q[i])).toBe(true);
    expect(Array.from(await (L[0].linears.up_proj!.w as tf.Tensor2D).data())).toEqual(Array.from(before.up));
    expect(Array.from(await model.weights.embed.data())).toEqual(Array.from(before.embed));
    const refScore = fr.reference(() =>
      tf.tidy(() => sequenceLogprobs(model, packBatch([item], 64), null, false).arraySync()[0]),
    );
    expect(refScore).toBeCloseTo(baseScore, 3);
    const trainedScore = (await scoreSequences(model, [item]))[0].sum;
    expect(trainedScore).not.toBeCloseTo(baseScore, 3);
    t.dispose();
    fr.detach();
    expect((await scoreSequences(model, [item]))[0].sum).toBe(baseScore);
    expect(Array.from(await (L[0].linears.q_proj!.w as tf.Tensor2D).data())).toEqual(Array.from(before.q));
  });
});
