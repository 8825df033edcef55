import { describe, expect, it } from 'vitest';
import { fewshotContext, planFewshot, sampleShotIndices, seededRandom } from '../../src/lib/eval/fewshot';
import type { McDoc } from '../../src/lib/eval/tasks';

const doc = (i: number, gold = i % 2): McDoc => ({ context: `ctx${i} 답변: `, choices: ['아니오', '예'], gold });

describe('seeded PRNG', () => {
  it('is deterministic per seed, different across seeds, in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('k-shot construction', () => {
  it('renders context + " " + gold choice, joined by a blank line, then the test context', () => {
    const shots = [doc(1, 1), doc(2, 0)];
    const test = { context: 'T 답변: ', choices: ['아니오', '예'], gold: 1 };
    expect(fewshotContext(shots, test)).toBe('ctx1 답변:  예\n\nctx2 답변:  아니오\n\nT 답변: ');
    expect(fewshotContext([], test)).toBe('T 답변: ');
  });

  it('draws k distinct shots, records the seed, and is reproducible', () => {
    const pool = Array.from({ length: 40 }, (_, i) => doc(i));
    const tests = [doc(100), doc(101), doc(102)];
    const p1 = planFewshot(tests, pool, 5, 42);
    const p2 = planFewshot(tests, pool, 5, 42);
    const p3 = planFewshot(tests, pool, 5, 43);
    expect(p1.seed).toBe(42);
    expect(p1.k).toBe(5);
    expect(p1.shotIndices).toEqual(p2.shotIndices);
    expect(p1.shotIndices).not.toEqual(p3.shotIndices);
    for (const [i, idx] of p1.shotIndices.entries()) {
      expect(new Set(idx).size).toBe(5);
      const parts = p1.contexts[i].split('\n\n');
      expect(parts).toHaveLength(6);
      expect(parts[5]).toBe(tests[i].context);
      parts.slice(0, 5).forEach((part, j) => {
        const shot = pool[idx[j]];
        expect(part).toBe(`${shot.context} ${shot.choices[shot.gold]}`);
      });
    }
    // an item's shots do not depend on which other items are scored
    expect(planFewshot(tests.slice(0, 1), pool, 5, 42).shotIndices[0]).toEqual(p1.shotIndices[0]);
  });

  it('never uses the test item as its own shot when the pool is the scored split', () => {
    const split = Array.from({ length: 3 }, (_, i) => doc(i));
    const plan = planFewshot(split, split, 2, 1, [0, 1, 2]);
    plan.shotIndices.forEach((idx, i) => expect([...idx].sort()).toEqual([0, 1, 2].filter((j) => j !== i)));
    const big = Array.from({ length: 30 }, (_, i) => doc(i));
    const plan2 = planFewshot(
      big,
      big,
      5,
      9,
      big.map((_, i) => i),
    );
    plan2.shotIndices.forEach((idx, i) => expect(idx).not.toContain(i));
  });

  it('throws when the pool is too small', () => {
    expect(() => sampleShotIndices(3, 3, seededRandom(1), 0)).toThrow(/only 2/);
  });
});
