/**
 * Wilson score interval against values worked out by hand (z = 1.96, 95%):
 * - 7/10: p̂ = 0.7, 1 + z²/n = 1.38416, centre = (0.7 + 0.19208) / 1.38416 = 0.64444,
 *   half = 1.96·sqrt(0.021 + 0.0096040) / 1.38416 = 0.24775 → [0.3968, 0.8922];
 * - 0/5: centre = 0.38416/1.76832 = 0.21724, half = 1.96·sqrt(0.0384160)/1.76832 = 0.21724 → [0, 0.4345];
 * - 5/5: the mirror image → [0.5655, 1];
 * - 50/100: centre 0.5, half = 1.96·sqrt(0.0025 + 0.00009604)/1.038416 = 0.09617 → [0.4038, 0.5962].
 */
import { describe, expect, it } from 'vitest';
import { wilsonInterval, winRateStats } from '../../src/lib/eval/wilson';

describe('wilsonInterval', () => {
  it('matches hand-computed intervals', () => {
    const cases: [number, number, number, number][] = [
      [7, 10, 0.3968, 0.8922],
      [0, 5, 0, 0.4345],
      [5, 5, 0.5655, 1],
      [50, 100, 0.4038, 0.5962],
    ];
    for (const [k, n, lo, hi] of cases) {
      const ci = wilsonInterval(k, n);
      expect(ci.low, `${k}/${n} low`).toBeCloseTo(lo, 3);
      expect(ci.high, `${k}/${n} high`).toBeCloseTo(hi, 3);
    }
  });

  it('is [0, 1] with no trials and rejects impossible counts', () => {
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
    expect(() => wilsonInterval(3, 2)).toThrow(/successes <= n/);
    expect(() => wilsonInterval(-1, 2)).toThrow();
  });

  it('narrows as n grows at the same proportion', () => {
    const a = wilsonInterval(7, 10);
    const b = wilsonInterval(70, 100);
    expect(b.high - b.low).toBeLessThan(a.high - a.low);
  });
});

describe('winRateStats', () => {
  it('counts a tie as half a win and compares with the 50% chance level', () => {
    // 3 wins, 2 ties, 1 loss: (3 + 1) / 6
    const s = winRateStats({ wins: 3, ties: 2, losses: 1 });
    expect(s.rate).toBeCloseTo(4 / 6, 12);
    expect(s.n).toBe(6);
    expect(s.chance).toBe(0.5);
    expect(s.ci).toEqual(wilsonInterval(4, 6));
    expect(s.verdict).toBe('undecided');
  });

  it('says better or worse only when the interval excludes chance', () => {
    expect(winRateStats({ wins: 10, ties: 0, losses: 0 }).verdict).toBe('better'); // [0.722, 1]
    expect(winRateStats({ wins: 0, ties: 0, losses: 10 }).verdict).toBe('worse');
    expect(winRateStats({ wins: 0, ties: 8, losses: 0 }).rate).toBe(0.5);
    const none = winRateStats({ wins: 0, ties: 0, losses: 0 });
    expect(none.rate).toBeNaN();
    expect(none.verdict).toBe('undecided');
  });
});
