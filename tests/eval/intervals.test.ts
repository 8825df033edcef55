/**
 * Intervals and chance levels (src/lib/eval/intervals.ts) against values computed by hand or by an
 * independent route (metrics.ts's macroF1 on explicitly resampled arrays, a Monte Carlo guesser).
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapInterval,
  chanceAccuracy,
  chanceMacroF1,
  formatIntervalPct,
  macroF1Interval,
  metricUncertainty,
  quantileSorted,
  taskUncertainty,
  wilsonInterval,
} from '../../src/lib/eval/intervals';
import { macroF1 } from '../../src/lib/eval/metrics';
import { mulberry32 } from '../../src/lib/model/sample';

describe('wilsonInterval', () => {
  it('7/10 → [0.397, 0.892] (by hand: centre 0.89208/1.38416, half-width 1.96·√0.030604/1.38416)', () => {
    const iv = wilsonInterval(7, 10);
    expect(iv.low).toBeCloseTo(0.3968, 3);
    expect(iv.high).toBeCloseTo(0.8922, 3);
    expect(formatIntervalPct(iv)).toBe('[39.7, 89.2]');
  });

  it('0/20 starts at 0 and 20/20 ends at 1 (upper bound z²/(n+z²) = 3.8415/23.8415)', () => {
    const zero = wilsonInterval(0, 20);
    expect(zero.low).toBe(0);
    expect(zero.high).toBeCloseTo(3.841459 / 23.841459, 6);
    const all = wilsonInterval(20, 20);
    expect(all.high).toBe(1);
    expect(all.low).toBeCloseTo(1 - 3.841459 / 23.841459, 6);
  });

  it('narrows as n grows at the same proportion; n = 0 is undefined', () => {
    const a = wilsonInterval(7, 10);
    const b = wilsonInterval(70, 100);
    expect(b.high - b.low).toBeLessThan(a.high - a.low);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 }); // no items: no information
    expect(() => wilsonInterval(11, 10)).toThrow();
  });
});

describe('quantileSorted', () => {
  it('interpolates linearly between order statistics (numpy default)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([0, 10], 0.025)).toBeCloseTo(0.25, 12);
    expect(quantileSorted([5], 0.9)).toBe(5);
  });
});

describe('macroF1Interval (percentile bootstrap)', () => {
  const golds = [0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1];
  const preds = [0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1];

  it('is deterministic for a seed and differs for another seed', () => {
    const a = macroF1Interval(golds, preds, { seed: 7 });
    const b = macroF1Interval(golds, preds, { seed: 7 });
    const c = macroF1Interval(golds, preds, { seed: 8 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('brackets the point estimate', () => {
    const point = macroF1(golds, preds);
    const iv = macroF1Interval(golds, preds);
    expect(iv.low).toBeLessThan(point);
    expect(iv.high).toBeGreaterThan(point);
    expect(iv.low).toBeGreaterThanOrEqual(0);
    expect(iv.high).toBeLessThanOrEqual(1);
  });

  it('shrinks with n (the same items repeated 10 times)', () => {
    const one = macroF1Interval(golds, preds);
    const rep = <T>(a: T[]) => Array.from({ length: 10 }, () => a).flat();
    const ten = macroF1Interval(rep(golds), rep(preds));
    expect(ten.high - ten.low).toBeLessThan((one.high - one.low) / 2);
  });

  it('equals the generic bootstrap with metrics.ts macroF1 on each resample (incl. classes missing from a resample)', () => {
    // three classes, one rare: some resamples lack class 2 entirely, which must drop it from the mean
    const g = [0, 0, 1, 1, 2, 0, 1, 0, 1, 1, 0, 2];
    const p = [0, 1, 1, 1, 2, 0, 0, 0, 1, 2, 0, 0];
    const fast = macroF1Interval(g, p, { seed: 3, resamples: 400 });
    const slow = bootstrapInterval(
      g.length,
      (idx) =>
        macroF1(
          [...idx].map((i) => g[i]),
          [...idx].map((i) => p[i]),
        ),
      { seed: 3, resamples: 400 },
    );
    expect(fast.low).toBeCloseTo(slow.low, 12);
    expect(fast.high).toBeCloseTo(slow.high, 12);
  });
});

describe('chance levels', () => {
  it('accuracy: mean of 1/choices', () => {
    expect(chanceAccuracy([2, 2, 2])).toBe(0.5);
    expect(chanceAccuracy([4, 4])).toBe(0.25);
    expect(chanceAccuracy([2, 4])).toBeCloseTo(0.375, 12);
  });

  it('macro-F1: 1/K for balanced golds; by hand for 3:1 golds on two classes', () => {
    expect(chanceMacroF1([0, 1, 0, 1], 2)).toBeCloseTo(0.5, 12);
    expect(chanceMacroF1([0, 1, 2, 3], 4)).toBeCloseTo(0.25, 12);
    // p = (0.75, 0.25): F1_0 = 1.5/2.5 = 0.6, F1_1 = 0.5/1.5 = 1/3 → mean 0.4667
    expect(chanceMacroF1([0, 0, 0, 1], 2)).toBeCloseTo((0.6 + 1 / 3) / 2, 12);
  });

  it('macro-F1 chance matches a simulated uniform guesser on many items', () => {
    const golds = Array.from({ length: 20000 }, (_, i) => (i % 4 === 3 ? 1 : 0)); // 3:1
    const rng = mulberry32(11);
    const preds = golds.map(() => Math.floor(rng() * 2));
    expect(macroF1(golds, preds)).toBeCloseTo(chanceMacroF1(golds, 2), 2);
  });
});

describe('taskUncertainty', () => {
  it('with items: Wilson on acc, bootstrap on macro-F1, chance from choices and gold shares', () => {
    const items = [0, 1, 1, 0, 1, 0, 1, 1, 0, 1].map((gold, i) => ({
      gold,
      pred: i < 7 ? gold : 1 - gold,
      loglik: [-1, -2],
    }));
    const r = { n: 10, acc: 0.7, macro_f1: 0.7, items };
    const u = taskUncertainty('kobest_copa', r);
    expect(formatIntervalPct(u.acc)).toBe('[39.7, 89.2]');
    expect(u.macroF1).not.toBeNull();
    expect(u.chanceAcc).toBe(0.5);
    // golds 4 × 0 and 6 × 1: mean of 0.8/1.8 and 1.2/2.2
    expect(u.chanceMacroF1).toBeCloseTo((0.8 / 1.8 + 1.2 / 2.2) / 2, 12);
    expect(taskUncertainty('kobest_copa', r)).toBe(u); // cached per result
  });

  it('without items: Wilson only, chance from the task table', () => {
    const u = taskUncertainty('kobest_hellaswag', { n: 20, acc: 0.3, macro_f1: 0.2 });
    expect(u.macroF1).toBeNull();
    expect(u.chanceAcc).toBe(0.25);
    expect(u.chanceMacroF1).toBe(0.25);
    expect(taskUncertainty('unknown', { n: 20, acc: 0.3, macro_f1: 0.2 }).chanceAcc).toBeNull();
  });

  it('metricUncertainty picks the interval and chance of the shown metric', () => {
    const r = { n: 10, acc: 0.7, macro_f1: 0.6, acc_norm: 0.5 };
    expect(formatIntervalPct(metricUncertainty('kobest_hellaswag', r, 'acc').interval)).toBe('[39.7, 89.2]');
    expect(metricUncertainty('kobest_hellaswag', r, 'macro_f1')).toEqual({ interval: null, chance: 0.25 });
    const norm = metricUncertainty('kobest_hellaswag', r, 'acc_norm');
    expect(norm.interval).toEqual(wilsonInterval(5, 10));
    expect(norm.chance).toBe(0.25);
  });
});
