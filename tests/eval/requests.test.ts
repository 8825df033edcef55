import { describe, expect, it } from 'vitest';
import { buildChoiceRequests, buildRequest, encodePair, moveTrailingWhitespace } from '../../src/lib/eval/requests';
import { FakeTokenizer } from '../helpers/fake-tokenizer';

describe('moveTrailingWhitespace', () => {
  it('moves the context trailing whitespace to the front of the continuation', () => {
    expect(moveTrailingWhitespace('질문: 답변: ', ' 예')).toEqual(['질문: 답변:', '  예']);
    expect(moveTrailingWhitespace('a b\n\n ', ' c')).toEqual(['a b', '\n\n  c']);
    expect(moveTrailingWhitespace('no space', ' x')).toEqual(['no space', ' x']);
  });
});

describe('request construction', () => {
  // chars x a b c ' ' q : y e s ; merges: 'a ' beats 'bc'
  const tok = new FakeTokenizer(['x', 'a', 'b', 'c', ' ', 'q', ':', 'y', 'e', 's'], ['a ', 'bc']);
  const [X, A, B, C, SP, Q, COLON] = ['x', 'a', 'b', 'c', ' ', 'q', ':'].map((p) => tok.id(p));

  it('plain case: BOS + context + " " + choice', () => {
    const r = buildRequest(tok, 'qx', 'bc', 100);
    expect(r.ids).toEqual([1, Q, X, SP, tok.id('bc')]);
    expect(r.start).toBe(3);
  });

  it('continuation tokens are the whole text past the context length when the boundary merges', () => {
    // whole "xa b" → [BOS, x, 'a ', b]; context "xa" → [BOS, x, a] (3 tokens);
    // continuation = whole[3:] = [b]; scored sequence = context tokens + [b]
    const p = encodePair(tok, 'xa', ' b');
    expect(p.contextIds).toEqual([1, X, A]);
    expect(p.continuationIds).toEqual([B]);
    const r = buildRequest(tok, 'xa', 'b', 100);
    expect(r.ids).toEqual([1, X, A, B]);
    expect(r.start).toBe(3);
  });

  it('trailing context whitespace joins the continuation before encoding', () => {
    // context "q: " → "q:" ; continuation " " + " " + "c" = "  c"
    const r = buildRequest(tok, 'q: ', 'c', 100);
    expect(r.ids).toEqual([1, Q, COLON, SP, SP, C]);
    expect(r.start).toBe(3);
  });

  it('left-truncates the whole sequence to maxSeqLen + 1, keeping the continuation', () => {
    // [BOS, x×6, ' ', b] = 9 tokens → last 5
    const r = buildRequest(tok, 'xxxxxx', 'b', 4);
    expect(r.ids).toEqual([X, X, X, SP, B]);
    expect(r.start).toBe(3);
    expect(r.ids.slice(r.start)).toEqual([SP, B]);
  });

  it('no truncation at exactly maxSeqLen + 1 tokens', () => {
    const r = buildRequest(tok, 'xx', 'b', 4); // [BOS, x, x, ' ', b]
    expect(r.ids).toEqual([1, X, X, SP, B]);
    expect(r.start).toBe(3);
  });

  it('rejects a continuation longer than the model window', () => {
    expect(() => buildRequest(tok, 'x', 'bbbbb', 4)).toThrow(/longer than the model's 4/);
  });

  it('rejects a continuation with no tokens of its own', () => {
    // "a" + " " merges into 'a '; with context "xa" and choice "" the whole is [BOS, x, 'a '] (3 = context length)
    expect(() => buildRequest(tok, 'xa', '', 100)).toThrow(/no tokens past the context/);
  });

  it('builds one item per choice, in order', () => {
    const items = buildChoiceRequests(tok, 'qx', ['b', 'c'], 100);
    expect(items.map((i) => i.ids.slice(i.start))).toEqual([
      [SP, B],
      [SP, C],
    ]);
  });
});
