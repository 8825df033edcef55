/** Recipe validation (docs/experiments.md): the bundled recipes validate; bad recipes fail naming the field. */
import { describe, expect, it } from 'vitest';
import { armBudget, budgetStatement, parseRecipe, RecipeError, validateRecipe } from '../../src/lib/experiment/recipe';
import { BUNDLED_RECIPES, bundledRecipe, recipeAvailability } from '../../src/lib/experiment/recipes';
import { armConfig } from '../../src/lib/experiment/runner';
import { armRows, rowsToJsonl } from '../../src/lib/experiment/arm-data';
import { parseDataFile } from '../../src/lib/data';

const minimal = () => ({
  name: 't',
  claim: 'c',
  source: 's',
  budget: { steps: 10, batchSize: 2 },
  arms: [
    { id: 'a', objective: 'sft', data: { file: 'x.jsonl', use: 'target' } },
    { id: 'b', objective: 'clo', data: { file: 'x.jsonl' } },
  ],
});

function fieldOf(v: unknown): string {
  try {
    validateRecipe(v);
  } catch (e) {
    expect(e).toBeInstanceOf(RecipeError);
    return (e as RecipeError).field;
  }
  throw new Error('validated');
}

describe('recipes', () => {
  it('bundles the recipes; every one can run', () => {
    expect(BUNDLED_RECIPES.map((r) => r.name)).toEqual([
      'clo-vs-sft',
      'data-efficiency',
      'sft-dpo-orpo',
      'salt-init',
      'first-experiment',
      'korean-journey',
    ]);
    expect(recipeAvailability(bundledRecipe('salt-init')!)).toBe('ready');
    expect(recipeAvailability(bundledRecipe('clo-vs-sft')!)).toBe('ready');
    for (const r of BUNDLED_RECIPES) expect(r.claim.length).toBeGreaterThan(20);
  });

  it('defaults: matched budget, lr 2e-4, max 128 tokens, seed 0', () => {
    const r = validateRecipe(minimal());
    expect(r.budget).toEqual({
      steps: 10,
      batchSize: 2,
      gradAccum: 1,
      maxSeqLen: 128,
      lr: 2e-4,
      seed: 0,
      matched: true,
    });
    expect(r.arms[1].data.use).toBe('as-is');
    expect(budgetStatement(r)).toMatch(/^Matched budget: every arm trains 10 optimizer steps at batch 2/);
    expect(r.arms.map((a) => armBudget(r, a))).toEqual([
      { steps: 10, batchSize: 2, gradAccum: 1 },
      { steps: 10, batchSize: 2, gradAccum: 1 },
    ]);
  });

  it('errors name the field', () => {
    const m = minimal();
    expect(fieldOf({ ...m, budget: { steps: 0, batchSize: 2 } })).toBe('budget.steps');
    expect(fieldOf({ ...m, budget: { steps: 1.5, batchSize: 2 } })).toBe('budget.steps');
    expect(fieldOf({ ...m, budget: { steps: 5 } })).toBe('budget.batchSize');
    expect(fieldOf({ ...m, arms: [] })).toBe('arms');
    expect(fieldOf({ ...m, arms: [{ ...m.arms[0], objective: 'ppo' }] })).toBe('arms[0].objective');
    expect(fieldOf({ ...m, arms: [m.arms[0], { ...m.arms[1], data: { file: 'x', use: 'target' } }] })).toBe(
      'arms[1].data.use',
    );
    expect(fieldOf({ ...m, arms: [m.arms[0], { ...m.arms[0] }] })).toBe('arms[1].id');
    expect(fieldOf({ ...m, arms: [{ ...m.arms[0], steps: 5 }] })).toBe('arms[0].steps');
    expect(fieldOf({ ...m, arms: [{ ...m.arms[0], train: { fullRank: ['qq_proj'] } }] })).toBe(
      'arms[0].train.fullRank[0]',
    );
    expect(fieldOf({ ...m, arms: [{ ...m.arms[0], train: { lora: { r: 0 } } }] })).toBe('arms[0].train.lora.r');
    expect(fieldOf({ ...m, suite: { tasks: { names: ['kobest_nope'] } } })).toBe('suite.tasks.names[0]');
    expect(fieldOf({ ...m, suite: { tasks: { names: ['kobest_copa'], shots: [-1] } } })).toBe('suite.tasks.shots[0]');
    expect(fieldOf({ ...m, suite: { winRate: { pairs: [['a', 'zz']] } } })).toBe('suite.winRate.pairs[0]');
    expect(fieldOf({ ...m, colour: 'red' })).toBe('colour');
    expect(() => validateRecipe({ ...m, budget: { steps: 0, batchSize: 2 } })).toThrow(
      'recipe field "budget.steps": must be at least 1 (got 0)',
    );
    expect(() => parseRecipe('{', 'r.json')).toThrow(/^r\.json: not valid JSON/);
  });

  it('an unmatched budget lets an arm set its own steps, and says so', () => {
    const m = minimal();
    const r = validateRecipe({
      ...m,
      budget: { ...m.budget, matched: false },
      arms: [{ ...m.arms[0], steps: 3 }, m.arms[1]],
    });
    expect(armBudget(r, r.arms[0]).steps).toBe(3);
    expect(armBudget(r, r.arms[1]).steps).toBe(10);
    expect(budgetStatement(r)).toMatch(/NOT matched/);
  });

  it('arm configs are the train command defaults plus the budget; full rank empties the LoRA list', () => {
    const r = bundledRecipe('clo-vs-sft')!;
    const sft = armConfig(r, r.arms[0]);
    expect(sft).toMatchObject({
      objective: 'sft',
      steps: 200,
      batchSize: 4,
      maxSeqLen: 256,
      lr: 3e-3,
      seed: 0,
      beta: 0.1,
      lambda: 0.5,
    });
    expect(sft.lora).toEqual({
      r: 8,
      alpha: 16,
      dropout: 0,
      targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      init: 'gaussian',
    });
    const full = armConfig(
      r,
      r.arms.find((a) => a.id === 'clo-full')!,
    );
    expect(full.lora.targets).toEqual([]);
    expect(full.lr).toBe(3e-4);
  });

  it('data uses derive the rows from paired data, and rowsToJsonl round-trips them through the CLI parser', () => {
    const line = JSON.stringify({
      en_instruction: 'Say hi',
      en_input: '',
      en_output: 'Hi',
      ko_instruction: '인사해',
      ko_input: '',
      ko_output: '안녕',
    });
    const text = `${line}\n${line.replace('Hi"', 'Hello"')}\n`;
    const tgt = armRows(text, 'p.jsonl', 'target', 1, null);
    expect(tgt.rows).toHaveLength(1);
    expect(tgt.rows[0]).toMatchObject({ kind: 'sft', response: '안녕' });
    expect((tgt.rows[0] as { prompt: string }).prompt).toContain('인사해');
    expect(
      armRows(text, 'p.jsonl', 'both', undefined, null).rows.map((r) => (r as { response: string }).response),
    ).toEqual(['안녕', 'Hi', '안녕', 'Hello']);
    const pref = armRows(text, 'p.jsonl', 'preference-target', undefined, null).rows[0];
    expect(pref).toMatchObject({ kind: 'preference', chosen: '안녕', rejected: 'Hi' });
    for (const use of ['as-is', 'target', 'preference-target'] as const) {
      const rows = armRows(text, 'p.jsonl', use, undefined, null).rows;
      expect(parseDataFile(rowsToJsonl(rows), 'rt.jsonl').rows).toEqual(rows);
    }
  });
});
