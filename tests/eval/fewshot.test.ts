import { describe, expect, it } from 'vitest';
import { drawShots, fewshotContext, planFewshot, seededRandom } from '../../src/lib/eval/fewshot';
import { PyRandom } from '../../src/lib/eval/py-random';
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

// Reference values printed by CPython 3.11's random module, e.g.
//   r = random.Random(1234); [r.sample(range(3665), 5) for _ in range(3)]
describe("Python's random.Random", () => {
  it('gives the same 32-bit outputs as CPython for an integer seed', () => {
    const r = new PyRandom(1234);
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual([4150886329, 3342196574, 1892932127]);
  });

  it('samples as CPython does: the set strategy on large populations', () => {
    const r = new PyRandom(1234);
    expect([r.sampleIndices(3665, 5), r.sampleIndices(3665, 5), r.sampleIndices(3665, 5)]).toEqual([
      [3187, 1805, 478, 30, 371],
      [3305, 2384, 143, 2750, 2838],
      [343, 403, 3139, 1452, 969],
    ]);
    // a seed wider than 32 bits (seeded from two words)
    expect(new PyRandom(2 ** 40 + 5).sampleIndices(100000, 6)).toEqual([66110, 67753, 35206, 87005, 3595, 69593]);
  });

  it('samples as CPython does: the pool strategy on small populations', () => {
    const r = new PyRandom(7);
    expect([r.sampleIndices(10, 3), r.sampleIndices(10, 3)]).toEqual([
      [5, 2, 6],
      [0, 1, 8],
    ]);
    expect(new PyRandom(0).sampleIndices(30, 8)).toEqual([27, 12, 24, 13, 1, 8, 16, 15]);
    const s = new PyRandom(42);
    expect([s.sampleIndices(5, 3), s.sampleIndices(5, 3), s.sampleIndices(5, 3)]).toEqual([
      [0, 4, 2],
      [2, 1, 0],
      [1, 0, 2],
    ]);
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
    // lm-evaluation-harness: Random(42).sample(pool, 5) once per item, in order
    expect(p1.shotIndices).toEqual([
      [7, 1, 17, 15, 14],
      [8, 6, 34, 5, 37],
      [27, 2, 1, 5, 13],
    ]);
    // scoring the first items only gives them the shots of the full run
    expect(planFewshot(tests.slice(0, 2), pool, 5, 42).shotIndices).toEqual(p1.shotIndices.slice(0, 2));
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
    // the harness's rule: k + 1 drawn, the item itself dropped, the first k kept
    // (r = Random(9); for i in range(4): [x for x in r.sample(range(30), 6) if x != i][:5])
    expect(plan2.shotIndices.slice(0, 4)).toEqual([
      [14, 19, 11, 8, 4],
      [27, 21, 0, 10, 16],
      [28, 19, 10, 17, 29],
      [22, 1, 23, 12, 5],
    ]);
  });

  it('throws when the pool is too small', () => {
    expect(() => drawShots(new PyRandom(1), 3, 3, 0)).toThrow(/only 2/);
    expect(() => drawShots(new PyRandom(1), 3, 4, null)).toThrow(/only 3/);
  });
});
