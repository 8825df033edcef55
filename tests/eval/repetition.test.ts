/** Repetition measures (src/lib/eval/repetition.ts) against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { distinctN, longestRepeat, repetition, summarizeRepetition } from '../../src/lib/eval/repetition';

describe('repetition', () => {
  it('distinct character n-grams by hand', () => {
    // abcdabcd: 4-grams abcd bcda cdab dabc abcd → 4 distinct of 5
    expect(distinctN([...'abcdabcd'], 4)).toBeCloseTo(0.8, 12);
    expect(distinctN([...'abc'], 4)).toBeNull();
    expect(distinctN([...'안녕하세요'], 2)).toBe(1);
  });

  it('longest non-overlapping repeat by hand', () => {
    expect(longestRepeat([...'abcdabcd'])).toBe(4);
    expect(longestRepeat([...'aaaa'])).toBe(2); // "aa" twice, "aaa" would overlap itself
    expect(longestRepeat([...'abcdefg'])).toBe(0);
    expect(longestRepeat([...'xabcyabcz'])).toBe(3);
  });

  it('"chchchch…" is degenerate although it is all Latin letters; a plain sentence is not', () => {
    const ch = repetition('chchchchchchchchchchchch');
    expect(ch.degenerate).toBe(true);
    expect(ch.distinct4).toBeCloseTo(2 / 21, 12); // chch, hchc over 21 windows
    expect(ch.repeatedShare).toBe(1);
    const ok = repetition('Once upon a time, a little girl named Lily went to the park with her mom.');
    expect(ok.degenerate).toBe(false);
    expect(ok.distinct4!).toBeGreaterThan(0.9);
    expect(repetition('short').degenerate).toBe(false);
    expect(repetition('short').distinct4).toBeNull();
  });

  it('summaries', () => {
    const s = summarizeRepetition(['abababababababab', 'The cat sat on a warm mat today.', 'hi']);
    expect(s.n).toBe(3);
    expect(s.degenerateShare).toBeCloseTo(1 / 3, 12);
    expect(summarizeRepetition([]).degenerateShare).toBeNull();
  });
});
