import { describe, expect, it } from 'vitest';
import { isFaithful, languageFidelity, scriptCounts, scriptShare } from '../../src/lib/eval/fidelity';

describe('Korean-script share (docs/methods.md §5)', () => {
  it('counts Hangul syllables and jamo over all letters; digits and punctuation do not count', () => {
    expect(scriptCounts('안녕 hello!', 'ko')).toEqual({ inScript: 2, letters: 7 });
    expect(scriptShare('안녕하세요 hi 123.', 'ko')).toBeCloseTo(5 / 7, 12);
    expect(scriptShare('ㅋㅋㅋ ok', 'ko')).toBeCloseTo(3 / 5, 12); // compatibility jamo U+314B
    expect(scriptShare('\u1100\u1161', 'ko')).toBe(1); // conjoining jamo
    expect(scriptShare('123 !?', 'ko')).toBeNull();
  });

  it('mostly = more than half', () => {
    expect(isFaithful('안녕 hi', 'ko')).toBe(false); // 2/4
    expect(isFaithful('안녕하 hi', 'ko')).toBe(true); // 3/5
    expect(isFaithful('hello 세계', 'en')).toBe(true); // 5/7 Latin
    expect(isFaithful('...', 'ko')).toBe(false);
  });

  it('fidelity over generations', () => {
    const r = languageFidelity(['안녕하세요', 'hello', '좋아요 ok', '!!!'], 'ko');
    // faithful: 1st (1.0), 3rd (3/5); shares with letters: 1, 0, 0.6
    expect(r.n).toBe(4);
    expect(r.faithful).toBe(2);
    expect(r.fidelity).toBe(0.5);
    expect(r.meanShare).toBeCloseTo(1.6 / 3, 12);
  });
});
