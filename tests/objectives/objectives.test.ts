/**
 * Step-0 (and step-1) losses of every objective on stories260K with real CLO rows, checked against
 * values computed here by hand (float64) from scoreSequences() log-probs — docs/methods.md §1–2.
 * The trainer's logged loss for a step is computed on that step's batch before its update.
 * batchSize = number of rows, so every step's batch holds all rows (in some order); the losses are
 * means over the batch, so order does not matter.
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
import { scoreSequences, type ScoreResult } from '../../src/lib/model/score';
import type { LoraState } from '../../src/lib/lora/types';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { ObjectiveName, StepMetrics } from '../../src/lib/train/types';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const DATA = resolve(SHARED, 'data/instructions/paired_alpaca_koalpaca_en_ko.jsonl');
const MAX_LEN = 128;
const LN2 = Math.LN2;

/** float64 log(1 − e^a), a < 0 */
const log1mexp = (a: number) => (a > -LN2 ? Math.log(-Math.expm1(a)) : Math.log1p(-Math.exp(a)));
/** float64 −log σ(z) = softplus(−z) */
const negLogSigmoid = (z: number) => (z >= 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z)));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Expected step-0 metric names per objective (docs/methods.md §2), plus the trainer's bookkeeping (step, tokens, ms). */
const BOOK = ['step', 'tokens', 'ms'];
const COMMON = ['loss', 'lr', 'grad_norm', 'tokens_per_s'];
const REWARDS = ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies'];
const NAMES: Record<ObjectiveName, string[]> = {
  sft: [...COMMON, 'loss/nll'],
  dpo: [...COMMON, 'loss/pref', ...REWARDS],
  orpo: [...COMMON, 'loss/nll', 'loss/pref', ...REWARDS],
  clo: [...COMMON, 'loss/nll', 'loss/pref', ...REWARDS],
};

let model: LoadedModel;
let rows: CloRow[];

/** Tokenized as docs/methods.md §1/§6 say, written out here: prompt+response as one text, BOS first, EOS appended. */
function seq(prompt: string, response: string) {
  const ids = [...model.tokenizer.encode(prompt + response), model.tokenizer.eosId!];
  return { ids, start: model.tokenizer.encode(prompt).length };
}

async function score(pairs: [string, string][], lora: LoraState | null = null): Promise<ScoreResult[]> {
  return scoreSequences(
    model,
    pairs.map(([p, r]) => seq(p, r)),
    { lora },
  );
}

/** |a − b| ≤ rel·|b| + abs */
function expectClose(got: number | undefined, want: number, rel = 1e-4, abs = 1e-5): void {
  expect(got).toBeTypeOf('number');
  if (!(Math.abs(got! - want) <= rel * Math.abs(want) + abs)) throw new Error(`got ${got}, expected ${want}`);
}

async function firstSteps(
  objective: ObjectiveName,
  trainRows: TrainRow[],
  n: number,
): Promise<{ metrics: StepMetrics[]; trainer: Trainer }> {
  const cfg = defaultTrainConfig(objective, {
    batchSize: trainRows.length,
    maxSeqLen: MAX_LEN,
    steps: 10,
    lr: 1e-2,
    seed: 5,
  });
  const trainer = Trainer.create(model, trainRows, cfg);
  expect(trainer.skipped).toEqual([]);
  const metrics: StepMetrics[] = [];
  for (let i = 0; i < n; i++) metrics.push(await trainer.step());
  return { metrics, trainer };
}

function expectNames(m: StepMetrics, objective: ObjectiveName): void {
  expect(Object.keys(m).sort()).toEqual([...NAMES[objective], ...BOOK].sort());
  for (const k of NAMES[objective]) expect(Number.isFinite((m as unknown as Record<string, number>)[k])).toBe(true);
  expect(m.step).toBe(1);
  expect(m.lr).toBeCloseTo(1e-2, 12); // no warmup: step 1 runs at the peak lr
  expect(m.grad_norm).toBeGreaterThan(0); // at B = 0, dL/dB ≠ 0
  expect(m.tokens_per_s).toBeGreaterThan(0);
}

beforeAll(async () => {
  // wasm for speed (the formulas, not the backend, are under test here; backend parity has its own test)
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
  model = loadStories();
  const parsed = parseDataFile(readFileSync(DATA, 'utf8'), DATA, { expect: 'clo' });
  const all = parsed.rows as CloRow[];
  // the three rows whose longest sequence is shortest (Korean is byte-level in tok512, so rows are long)
  const longest = (r: CloRow) =>
    Math.max(
      seq(r.xEn, r.yEn).ids.length,
      seq(r.xEn, r.yTgt).ids.length,
      seq(r.xTgt, r.yTgt).ids.length,
      seq(r.xTgt, r.yEn).ids.length,
    );
  rows = all
    .map((r) => ({ r, L: longest(r) }))
    .sort((a, b) => a.L - b.L)
    .slice(0, 3)
    .map((x) => x.r);
  expect(rows).toHaveLength(3);
  for (const r of rows) expect(longest(r)).toBeLessThanOrEqual(MAX_LEN);
});

describe('objectives at initialisation (B = 0) and after one step, against hand computation', () => {
  it('SFT: loss = token-mean NLL of the responses', async () => {
    const sftRows: TrainRow[] = rows.map((r) => ({ kind: 'sft', prompt: r.xEn, response: r.yEn }));
    const s = await score(rows.map((r) => [r.xEn, r.yEn]));
    const nll = -sum(s.map((x) => x.sum)) / sum(s.map((x) => x.count));
    const { metrics, trainer } = await firstSteps('sft', sftRows, 1);
    expectNames(metrics[0], 'sft');
    expectClose(metrics[0].loss, nll);
    expectClose(metrics[0]['loss/nll'], nll);
    trainer.dispose();
  });

  it('DPO: loss = ln 2 and all rewards 0 at B = 0', async () => {
    const prefRows: TrainRow[] = rows.map((r) => ({
      kind: 'preference',
      prompt: r.xEn,
      chosen: r.yEn,
      rejected: r.yTgt,
    }));
    const { metrics, trainer } = await firstSteps('dpo', prefRows, 1);
    const m = metrics[0];
    expectNames(m, 'dpo');
    expectClose(m.loss, LN2, 1e-6, 1e-7);
    expectClose(m['loss/pref'], LN2, 1e-6, 1e-7);
    expect(m['rewards/chosen']).toBe(0);
    expect(m['rewards/rejected']).toBe(0);
    expect(m['rewards/margins']).toBe(0);
    expect(m['rewards/accuracies']).toBe(0); // margin > 0 is false for every pair
    trainer.dispose();
  });

  it('ORPO: loss = NLL(chosen) + λ·(−log σ(log-odds difference)) with log1mexp', async () => {
    const prefRows: TrainRow[] = rows.map((r) => ({
      kind: 'preference',
      prompt: r.xEn,
      chosen: r.yEn,
      rejected: r.yTgt,
    }));
    const c = await score(rows.map((r) => [r.xEn, r.yEn]));
    const rj = await score(rows.map((r) => [r.xEn, r.yTgt]));
    const lambda = 0.1;
    const beta = 0.1;
    const nll = -sum(c.map((x) => x.sum)) / sum(c.map((x) => x.count));
    const mc = c.map((x) => x.sum / x.count);
    const mr = rj.map((x) => x.sum / x.count);
    const logOdds = (m: number) => m - log1mexp(m);
    const orTerm = mean(mc.map((m, i) => negLogSigmoid(logOdds(m) - logOdds(mr[i]))));
    const { metrics, trainer } = await firstSteps('orpo', prefRows, 1);
    const m = metrics[0];
    expectNames(m, 'orpo');
    expectClose(m.loss, nll + lambda * orTerm);
    expectClose(m['loss/nll'], nll);
    expectClose(m['loss/pref'], orTerm);
    // rewards as TRL's ORPOTrainer logs them: β · mean token log-prob
    expectClose(m['rewards/chosen'], beta * mean(mc));
    expectClose(m['rewards/rejected'], beta * mean(mr));
    expectClose(m['rewards/margins'], beta * (mean(mc) - mean(mr)));
    expect(m['rewards/accuracies']).toBe(mean(mc.map((x, i) => (x > mr[i] ? 1 : 0))));
    trainer.dispose();
  });

  it('CLO: step 1 = λ·NLL_target + (1 − λ)·ln 2; step 2 = the DPO formula on the updated adapter', async () => {
    const lambda = 0.5;
    const beta = 0.1;
    const tgt = await score(rows.map((r) => [r.xTgt, r.yTgt]));
    const nllTgt = -sum(tgt.map((x) => x.sum)) / sum(tgt.map((x) => x.count));
    const { metrics, trainer } = await firstSteps('clo', rows, 1);
    const m = metrics[0];
    expectNames(m, 'clo');
    expectClose(m.loss, lambda * nllTgt + (1 - lambda) * LN2);
    expectClose(m['loss/nll'], nllTgt);
    expectClose(m['loss/pref'], LN2, 1e-6, 1e-7);
    for (const k of REWARDS) expect((m as unknown as Record<string, number>)[k]).toBe(0);

    // Step 2's logged values come from the adapter after step 1's update, before step 2's update.
    // Pairs: English query (x_en: y_en ≻ y_tgt) and target query (x_tgt: y_tgt ≻ y_en) for every row.
    const chosen: [string, string][] = [
      ...rows.map((r): [string, string] => [r.xEn, r.yEn]),
      ...rows.map((r): [string, string] => [r.xTgt, r.yTgt]),
    ];
    const rejected: [string, string][] = [
      ...rows.map((r): [string, string] => [r.xEn, r.yTgt]),
      ...rows.map((r): [string, string] => [r.xTgt, r.yEn]),
    ];
    const pc = await score(chosen, trainer.lora);
    const pr = await score(rejected, trainer.lora);
    const rc = await score(chosen);
    const rr = await score(rejected);
    const rewC = pc.map((x, i) => beta * (x.sum - rc[i].sum));
    const rewR = pr.map((x, i) => beta * (x.sum - rr[i].sum));
    const margins = rewC.map((x, i) => x - rewR[i]);
    const lCl = mean(margins.map((z) => negLogSigmoid(z)));
    const nll2 = -sum(pc.slice(rows.length).map((x) => x.sum)) / sum(pc.slice(rows.length).map((x) => x.count));
    expect(Math.max(...margins.map(Math.abs))).toBeGreaterThan(1e-3); // the step moved the policy away from the reference

    const m2 = await trainer.step();
    expect(m2.step).toBe(2);
    expectClose(m2.loss, lambda * nll2 + (1 - lambda) * lCl);
    expectClose(m2['loss/nll'], nll2);
    expectClose(m2['loss/pref'], lCl);
    // rewards are β·(differences of sums of ~100 float32 log-probs): absolute tolerance 1e-4
    expectClose(m2['rewards/chosen'], mean(rewC), 1e-3, 1e-4);
    expectClose(m2['rewards/rejected'], mean(rewR), 1e-3, 1e-4);
    expectClose(m2['rewards/margins'], mean(margins), 1e-3, 1e-4);
    expect(m2['rewards/accuracies']).toBe(mean(margins.map((z) => (z > 0 ? 1 : 0))));
    trainer.dispose();
  });
});
