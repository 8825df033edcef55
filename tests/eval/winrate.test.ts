import { describe, expect, it } from 'vitest';
import {
  createSession,
  formatSummary,
  outcomeOf,
  recordJudgement,
  shownPair,
  summarize,
} from '../../src/lib/eval/winrate';

const prompts = Array.from({ length: 5 }, (_, i) => ({ prompt: `p${i}`, x: `X${i}`, y: `Y${i}` }));

describe('pairwise win rate', () => {
  it('orders A/B at random per prompt, reproducibly from the seed', () => {
    const s1 = createSession('s', 'run', 'base', prompts, 3, 0);
    const s2 = createSession('s', 'run', 'base', prompts, 3, 0);
    expect(s1.items.map((i) => i.aIs)).toEqual(s2.items.map((i) => i.aIs));
    const many = createSession(
      'm',
      'x',
      'y',
      Array.from({ length: 200 }, (_, i) => ({ prompt: `${i}`, x: 'a', y: 'b' })),
      5,
      0,
    );
    const xa = many.items.filter((i) => i.aIs === 'x').length;
    expect(xa).toBeGreaterThan(60);
    expect(xa).toBeLessThan(140);
    for (const it of s1.items) {
      const { a, b } = shownPair(it);
      expect(it.aIs === 'x' ? [a, b] : [b, a]).toEqual([it.x, it.y]);
    }
  });

  it('maps blind choices back to runs and reports wins / ties / losses in percent', () => {
    let s = createSession('s', 'run', 'base', prompts, 11, 0);
    // wanted outcomes for X: win, win, tie, loss, win → 60 / 20 / 20
    const wanted = ['x', 'x', 'tie', 'y', 'x'] as const;
    wanted.forEach((w, i) => {
      const it = s.items[i];
      const j = w === 'tie' ? 'tie' : (w === 'x') === (it.aIs === 'x') ? 'a' : 'b';
      s = recordJudgement(s, i, j);
    });
    expect(s.items.map(outcomeOf)).toEqual([...wanted]);
    const sum = summarize(s);
    expect(sum.counts).toEqual({ wins: 3, ties: 1, losses: 1 });
    expect([sum.wins, sum.ties, sum.losses]).toEqual([60, 20, 20]);
    expect(formatSummary(sum)).toBe('60.0 / 20.0 / 20.0');
  });

  it('counts only judged prompts', () => {
    let s = createSession('s', 'a', 'b', prompts, 1, 0);
    s = recordJudgement(s, 0, 'tie');
    const sum = summarize(s);
    expect(sum.judged).toBe(1);
    expect(sum.total).toBe(5);
    expect(sum.ties).toBe(100);
    expect(() => recordJudgement(s, 5, 'a')).toThrow(/prompt 6/);
  });
});
