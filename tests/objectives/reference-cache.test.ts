/**
 * Reference log-probs computed once (TRL's precompute_ref_log_probs): over 5 CLO steps and
 * 5 DPO steps on stories260K, the losses and metrics with the cache equal those with the reference
 * recomputed every step (1e-6); each sequence's reference is computed exactly once; the cache rides in
 * the checkpoint (a resumed run computes no reference for rows it has seen and continues identically);
 * and the reference uses the weights as at the start even when a weight is a trainable variable.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadStories, SHARED } from '../helpers/helpers';
import { parseDataFile } from '../../src/lib/data';
import type { CloRow, TrainRow } from '../../src/lib/data/rows';
import type { LoadedModel } from '../../src/lib/model/model';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { ObjectiveName, StepMetrics, TrainCheckpoint } from '../../src/lib/train/types';
import type { TokenizedSeq } from '../../src/lib/model/batch';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const DATA = resolve(SHARED, 'data/instructions/paired_alpaca_koalpaca_en_ko.jsonl');
const STEPS = 5;
let model: LoadedModel;
let rows: CloRow[];

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
  model = loadStories();
  const all = parseDataFile(readFileSync(DATA, 'utf8'), DATA, { expect: 'clo' }).rows as CloRow[];
  const len = (r: CloRow) =>
    Math.max(
      ...[r.xEn + r.yEn, r.xEn + r.yTgt, r.xTgt + r.yTgt, r.xTgt + r.yEn].map((t) => model.tokenizer.encode(t).length),
    );
  // three short rows, batch 2: step 2 mixes a new row with a seen one, steps 3–5 are all seen rows
  rows = all
    .map((r) => ({ r, L: len(r) }))
    .sort((a, b) => a.L - b.L)
    .slice(0, 3)
    .map((x) => x.r);
});

function trainRows(objective: ObjectiveName): TrainRow[] {
  return objective === 'clo'
    ? rows
    : rows.map((r) => ({ kind: 'preference', prompt: r.xEn, chosen: r.yEn, rejected: r.yTgt }));
}

function makeTrainer(
  objective: ObjectiveName,
  cached: boolean,
  resume?: TrainCheckpoint,
  m: LoadedModel = model,
): Trainer {
  const cfg = defaultTrainConfig(objective, { batchSize: 2, maxSeqLen: 128, steps: 20, lr: 5e-2, seed: 3 });
  const t = Trainer.create(m, trainRows(objective), cfg, resume);
  if (!cached) t.referenceCache = null;
  return t;
}

/** Counts the sequences whose reference the trainer computes (through the cache's compute callback). */
function countComputed(t: Trainer): { n: number } {
  const c = { n: 0 };
  const cache = t.referenceCache!;
  const orig = cache.lookupDeferred.bind(cache);
  cache.lookupDeferred = (seqs: TokenizedSeq[], compute: (missing: TokenizedSeq[]) => tf.Tensor1D) =>
    orig(seqs, (missing) => {
      c.n += missing.length;
      return compute(missing);
    });
  return c;
}

const KEYS = [
  'loss',
  'loss/nll',
  'loss/pref',
  'rewards/chosen',
  'rewards/rejected',
  'rewards/margins',
  'rewards/accuracies',
  'grad_norm',
] as const;

function expectSameMetrics(a: StepMetrics[], b: StepMetrics[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((m, i) => {
    for (const k of KEYS) {
      const x = (m as unknown as Record<string, number>)[k];
      const y = (b[i] as unknown as Record<string, number>)[k];
      if (x === undefined && y === undefined) continue;
      if (!(Math.abs(x - y) <= 1e-6)) throw new Error(`step ${i + 1} ${k}: cached ${x} vs per-step ${y}`);
    }
  });
}

async function run(t: Trainer, n: number): Promise<StepMetrics[]> {
  const out: StepMetrics[] = [];
  for (let i = 0; i < n; i++) out.push(await t.step());
  return out;
}

describe.each(['clo', 'dpo'] as const)('%s: cached reference', (objective) => {
  const perRow = objective === 'clo' ? 4 : 2;

  it(`${STEPS} steps: losses equal the per-step reference (1e-6); each sequence scored once`, async () => {
    const perStep = makeTrainer(objective, false);
    const want = await run(perStep, STEPS);
    perStep.dispose();
    // what creating and disposing a trainer leaves behind regardless of the cache (LoRA set-up)
    const b0 = tf.memory().numTensors;
    makeTrainer(objective, true).dispose();
    const baseLeak = tf.memory().numTensors - b0;
    const before = tf.memory().numTensors;
    const cached = makeTrainer(objective, true);
    const count = countComputed(cached);
    const got = await run(cached, STEPS);
    expectSameMetrics(got, want);
    // training moved the policy away from the reference (so the comparison means something)
    expect(Math.abs(want[STEPS - 1]['rewards/margins']!)).toBeGreaterThan(1e-3);
    expect(cached.referenceCache!.size).toBe(rows.length * perRow);
    expect(count.n).toBe(rows.length * perRow);
    cached.dispose();
    expect(tf.memory().numTensors - before).toBe(baseLeak); // the cache itself holds no tensors
  });

  it('the cache rides in the checkpoint: a resumed run computes no reference and continues identically', async () => {
    const whole = makeTrainer(objective, false);
    const want = await run(whole, STEPS);
    whole.dispose();
    const first = makeTrainer(objective, true);
    await run(first, 3);
    const ckpt = structuredClone(await first.checkpoint()); // what IndexedDB stores
    first.dispose();
    expect(Object.keys(ckpt.reference ?? {})).toHaveLength(rows.length * perRow);
    const resumed = makeTrainer(objective, true, ckpt);
    const count = countComputed(resumed);
    const rest = await run(resumed, STEPS - 3);
    expect(count.n).toBe(0);
    expectSameMetrics(rest, want.slice(3));
    resumed.dispose();
  });
});

describe('reference weights', () => {
  it('a trainable (variable) weight changed after the start does not move the reference', async () => {
    const baseline = makeTrainer('dpo', true);
    await run(baseline, 2);
    const want = (await baseline.checkpoint()).reference!;
    baseline.dispose();
    const embed = tf.variable(model.weights.embed.clone(), true, 'test-trainable-embed');
    const m2: LoadedModel = { ...model, weights: { ...model.weights, embed } };
    const t = makeTrainer('dpo', true, undefined, m2);
    embed.assign(tf.add(embed, tf.randomNormal(embed.shape, 0, 0.5, 'float32', 1)));
    await run(t, 2);
    const got = (await t.checkpoint()).reference!;
    t.dispose();
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const k of Object.keys(want)) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(1e-6);
    embed.dispose();
  });
});
