/** A recipe's checks decided from a hand-built experiment record: supported, not supported, not measured; validation; every bundled recipe states its checks. */
import { describe, expect, it } from 'vitest';
import { verdictSummary } from '../../src/lib/experiment/claims';
import { armChain } from '../../src/lib/experiment/arm-model';
import { buildReport, judgeExperiment } from '../../src/lib/experiment/report';
import { RecipeError, validateRecipe } from '../../src/lib/experiment/recipe';
import { BUNDLED_RECIPES } from '../../src/lib/experiment/recipes';
import type { ArmResult, ExperimentState } from '../../src/lib/experiment/runner';
import type { SuiteResult } from '../../src/lib/experiment/suite';
import { defaultTrainConfig } from '../../src/lib/train/defaults';

const arm = (id: string) => ({
  id,
  label: id.toUpperCase(),
  objective: 'sft',
  data: { file: 'f.jsonl', use: 'target' },
});
const raw = {
  name: 'r',
  claim: 'c',
  source: 's',
  budget: { steps: 2, batchSize: 1 },
  arms: [arm('sft'), arm('clo')],
  suite: { perplexity: { limit: 2 }, tasks: { names: ['kobest_copa', 'kobest_boolq'], shots: [0], limit: 4 } },
  checks: [
    { claim: 'CLO keeps English near the base', arm: 'clo', metric: 'ppl', op: '<=', than: 'base', factor: 3 },
    { claim: 'CLO keeps English better than SFT', arm: 'clo', metric: 'ppl', op: '<', than: 'sft' },
    { claim: 'CLO beats SFT on the tasks', arm: 'clo', metric: 'tasks@0', op: '>', than: 'sft' },
    { claim: 'CLO learns Korean', arm: 'clo', metric: 'bpc', op: '<', than: 'base' },
  ],
};
const recipe = validateRecipe(raw);

const suite = (ppl: number, f1: [number, number]): SuiteResult => ({
  perplexity: { n: 2, tokens: 10, nll: Math.log(ppl), ppl },
  tasks: {
    'kobest_copa@0': { n: 4, acc: 0.5, macro_f1: f1[0] },
    'kobest_boolq@0': { n: 4, acc: 0.5, macro_f1: f1[1] },
  },
  seconds: 1,
});
const armResult = (id: string, ev: SuiteResult): ArmResult => ({
  id,
  label: id.toUpperCase(),
  objective: 'sft',
  method: 'LoRA r=8',
  config: defaultTrainConfig('sft', { steps: 2, batchSize: 1 }),
  rows: { requested: null, used: 3, skipped: 0 },
  metrics: [],
  trainSeconds: 1,
  eval: ev,
  params: 10,
});
const state = (cloPpl: number): ExperimentState => ({
  id: 'x',
  recipe,
  status: 'done',
  startedAt: 0,
  finishedAt: 1,
  backend: 'cpu',
  base: suite(4, [0.5, 0.5]),
  arms: [armResult('sft', suite(500, [0.4, 0.5])), armResult('clo', suite(cloPpl, [0.6, 0.5]))],
});

describe('claim checks', () => {
  it('decides each check from the numbers: ×2.2 is near the base, ×17 is not; a metric the suite lacks is not measured', () => {
    const near = judgeExperiment(state(8.8));
    expect(near.map((c) => c.verdict)).toEqual(['supported', 'supported', 'supported', 'not measured']);
    expect(near[0].evidence).toBe('English perplexity: CLO 8.80 ≤ 3 × base model 4.00 = 12.00');
    expect(near[2].evidence).toBe('mean macro-F1 of the tasks (0-shot): CLO 55.00 > SFT 45.00');
    const far = judgeExperiment(state(68));
    expect(far.map((c) => c.verdict)).toEqual(['not supported', 'supported', 'supported', 'not measured']);
    expect(far[0].evidence).toContain('does not hold');
    expect(verdictSummary(far)).toBe('2 of 4 checks supported at this budget (1 not measured yet)');
  });

  it('an arm not run yet is "not measured", never supported', () => {
    const s = { ...state(8.8), arms: state(8.8).arms.slice(0, 1), status: 'running' as const };
    expect(judgeExperiment(s).map((c) => c.verdict)).toEqual([
      'not measured',
      'not measured',
      'not measured',
      'not measured',
    ]);
  });

  it('the report states every check with its verdict', () => {
    const md = buildReport(state(68)).get('report.md')!;
    expect(md).toContain('## Does the claim hold at this budget? 2 of 4 checks supported at this budget');
    expect(md).toContain(
      '| CLO keeps English near the base | **not supported** | English perplexity: CLO 68.00 ≤ 3 × base',
    );
  });

  it('validation names the bad field', () => {
    const bad = (c: object) => () => validateRecipe({ ...raw, checks: [{ ...raw.checks[0], ...c }] });
    expect(bad({ arm: 'nope' })).toThrow(RecipeError);
    expect(bad({ arm: 'nope' })).toThrow('checks[0].arm');
    expect(bad({ metric: 'tasks' })).toThrow('checks[0].metric');
    expect(bad({ metric: 'tasks@99' })).toThrow('checks[0].metric');
    expect(bad({ op: '==' })).toThrow('checks[0].op');
    expect(bad({ factor: 0 })).toThrow('checks[0].factor');
    expect(bad({ extra: 1 })).toThrow('checks[0]');
    expect(validateRecipe({ ...raw, checks: undefined }).checks).toEqual([]);
  });

  it('every bundled recipe breaks its claim into checks on arms it has and metrics its suite measures', () => {
    for (const r of BUNDLED_RECIPES) {
      expect(r.checks.length, r.name).toBeGreaterThan(0);
      for (const c of r.checks) {
        const m = c.metric.startsWith('tasks@') ? 'tasks' : c.metric;
        const measured =
          m === 'ppl'
            ? r.suite.perplexity
            : m === 'bpc'
              ? r.suite.bitsPerChar
              : m === 'tasks'
                ? r.suite.tasks?.shots.includes(Number(c.metric.slice(6)))
                : m === 'finalLoss'
                  ? true
                  : r.suite.fidelity;
        expect(measured, `${r.name}: ${c.claim}`).toBeTruthy();
      }
    }
  });
});

describe('chained arms (from) and vocabulary arms', () => {
  const chained = (arms: object[]) => () => validateRecipe({ ...raw, checks: undefined, arms });
  it('an arm may start from an earlier arm; forward references, cycles and vocab on a chained arm are refused', () => {
    const pt = { ...arm('pt'), objective: 'pt', vocab: { add: 8, init: 'salt' } };
    const r = chained([pt, { ...arm('clo'), from: 'pt' }])();
    expect(r.arms[1].from).toBe('pt');
    expect(r.arms[0].vocab).toEqual({ add: 8, init: 'salt', rowsOnly: false });
    expect(armChain(r.arms, r.arms[1]).map((a) => a.id)).toEqual(['pt', 'clo']);
    expect(chained([{ ...arm('clo'), from: 'pt' }, pt])).toThrow('arms[0].from');
    expect(chained([pt, { ...arm('clo'), from: 'clo' }])).toThrow('arms[1].from');
    expect(chained([pt, { ...arm('clo'), from: 'pt', vocab: { add: 8 } }])).toThrow('arms[1].vocab');
    expect(chained([{ ...pt, vocab: { add: 8, init: 'zero' } }])).toThrow('arms[0].vocab.init');
  });
});
