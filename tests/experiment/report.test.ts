/** The report files of a hand-built experiment record: base first, changes from the base, trade-off values, Table 2 layout, CSV, SVG. */
import { describe, expect, it } from 'vitest';
import { buildReport, reportRows, tradeoff } from '../../src/lib/experiment/report';
import { validateRecipe } from '../../src/lib/experiment/recipe';
import type { ExperimentState } from '../../src/lib/experiment/runner';
import type { SuiteResult } from '../../src/lib/experiment/suite';
import { defaultTrainConfig } from '../../src/lib/train/defaults';

const recipe = validateRecipe({
  name: 'r',
  claim: 'a claim of some length here',
  source: 'a paper',
  budget: { steps: 2, batchSize: 1 },
  arms: [{ id: 'a', label: 'Arm A', objective: 'sft', data: { file: 'f.jsonl', use: 'target' } }],
  suite: {
    perplexity: { limit: 2 },
    bitsPerChar: { file: 'p.jsonl', field: 'ko', limit: 2 },
    tasks: { names: ['kobest_copa', 'kobest_boolq'], shots: [0, 5], limit: 4 },
  },
  report: ['summary', 'tasks-table2', 'tradeoff', 'curves', 'settings'],
});

const suite = (nll: number, bpc: number, f1: number): SuiteResult => ({
  perplexity: { n: 2, tokens: 10, nll, ppl: Math.exp(nll) },
  bitsPerChar: { texts: 2, chars: 10, tokens: 20, tokens_per_char: 2, bits_per_char: bpc },
  tasks: {
    'kobest_copa@0': { n: 4, acc: 0.5, macro_f1: f1 },
    'kobest_boolq@0': { n: 4, acc: 0.5, macro_f1: 0.25 },
    'kobest_copa@5': { n: 4, acc: 0.75, macro_f1: 0.7 },
    'kobest_boolq@5': { n: 4, acc: 0.5, macro_f1: 0.4 },
  },
  seconds: 1,
});

const state: ExperimentState = {
  id: 'x',
  recipe,
  status: 'done',
  startedAt: 0,
  finishedAt: 5000,
  backend: 'cpu',
  base: suite(1, 8, 0.5),
  arms: [
    {
      id: 'a',
      label: 'Arm A',
      objective: 'sft',
      method: 'LoRA r=8',
      config: defaultTrainConfig('sft', { steps: 2, batchSize: 1 }),
      rows: { requested: null, used: 3, skipped: 0 },
      metrics: [1, 2].map((step) => ({
        step,
        loss: 3 - step,
        lr: 1e-3,
        grad_norm: 1,
        tokens_per_s: 1,
        tokens: 5,
        ms: 10,
      })),
      trainSeconds: 2,
      eval: suite(1.5, 6, 0.6),
      params: 100,
    },
  ],
};

describe('experiment report', () => {
  it('rows start with the base model; trade-off = nll increase and bits/char gain', () => {
    const rows = reportRows(state);
    expect(rows.map((r) => r.id)).toEqual(['base', 'a']);
    expect(rows[1].ppl).toBeCloseTo(Math.exp(1.5), 12);
    expect(rows[1].finalLoss).toBe(1);
    const t = tradeoff(state)[0];
    expect(t.englishLoss).toBeCloseTo(0.5, 12);
    expect(t.targetGain).toBeCloseTo(2, 12);
  });

  it('markdown: claim, matched budget, changes in brackets, Table 2 layout (rows = model × k, columns in paper order)', () => {
    const md = buildReport(state).get('report.md')!;
    expect(md).toContain('**Claim tested**: a claim of some length here');
    expect(md).toContain('Matched budget: every arm trains 2 optimizer steps at batch 1');
    expect(md).toContain(
      `| Arm A | LoRA r=8 | 3 | 1.000 | ${Math.exp(1.5).toFixed(2)} (+${(Math.exp(1.5) - Math.exp(1)).toFixed(2)}) | 6.000 (-2.000) |`,
    );
    expect(md).toContain('| model | k | boolq | copa |');
    expect(md).toContain('| base model | 0 | 25.0 | 50.0 |');
    expect(md).toContain('| Arm A | 5 | 40.0 | 70.0 |');
    expect(md).toContain('| Arm A | 0.500 | 2.000 |');
  });

  it('CSV and SVG files', () => {
    const files = buildReport(state);
    expect(files.get('summary.csv')!.split('\n')[2]).toMatch(/^a,LoRA r=8,3,1,/);
    expect(files.get('tasks.csv')!.trim().split('\n')).toHaveLength(1 + 8);
    expect(files.get('curves.csv')!.trim().split('\n')).toEqual([
      'arm,step,loss,loss_nll,loss_pref,rewards_margins,lr',
      'a,1,2,,,,0.001',
      'a,2,1,,,,0.001',
    ]);
    const svg = files.get('curves.svg')!;
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Arm A');
    expect((svg.match(/<path /g) ?? []).length).toBe(1);
    expect(files.get('tradeoff.svg')!).toContain('<rect x=');
  });
});

describe('experiment report: intervals and chance', () => {
  it('tasks.csv carries the Wilson 95% interval of accuracy and the chance level', () => {
    const lines = buildReport(state).get('tasks.csv')!.trim().split('\n');
    expect(lines[0]).toBe('model,task,shots,n,acc,macro_f1,acc_wilson95_low,acc_wilson95_high,chance_acc');
    // base, kobest_copa@5: 3 of 4 correct → Wilson [0.3006, 0.9544] (by hand: centre 1.2302/1.9604 = 0.6275, half-width 0.3269)
    const row = lines.find((l) => l.startsWith('base,kobest_copa,5,'))!.split(',');
    expect(Number(row[6])).toBeCloseTo(0.3006, 3);
    expect(Number(row[7])).toBeCloseTo(0.9544, 3);
    expect(Number(row[8])).toBe(0.5);
  });

  it('report.md has an accuracy table with intervals and a chance row', () => {
    const md = buildReport(state).get('report.md')!;
    expect(md).toContain('### Accuracy × 100 with its Wilson 95% interval');
    expect(md).toContain('75.0 [30.1, 95.4]');
    expect(md).toMatch(/\| chance \| \| 50\.0 \| 50\.0 \|/);
  });
});
