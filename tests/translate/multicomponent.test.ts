import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CATALYST,
  decompose,
  serializeParts,
  translateRecord,
  validateMultiOptions,
  textsForRecord,
  DEFAULT_MULTI,
} from '../../src/lib/translate/multicomponent';
import { TranslateError } from '../../src/lib/translate/types';
import { FakeTranslator } from '../helpers/fake-translator';

// Hand-made expectations: the fake maps each word through translate-fake.ts DICT.
const CAT = ['Name a cat.', '', 'The cat sleeps.'];
const CAT_KO = ['이름 한 고양이.', '', '그 고양이 잔다.'];
const POEM = ['Write a poem about rain.', 'The rain falls.', 'Rain falls and the dog runs.'];
const POEM_KO = ['써라 한 시 대해 비.', '그 비 내린다.', '비 내린다 그리고 그 개 달린다.'];
const POEM_SERIALIZED =
  'The following is an instruction, its input, and the answer to it.\n' +
  '[1] Write a poem about rain.\n[2] The rain falls.\n[3] Rain falls and the dog runs.';

describe('serialize', () => {
  it('puts the catalyst first and each part after its indicator', () => {
    expect(DEFAULT_CATALYST).toBe('The following is an instruction, its input, and the answer to it.');
    expect(serializeParts(POEM, DEFAULT_MULTI)).toBe(POEM_SERIALIZED);
  });

  it('leaves an empty part out but keeps the other indicators on their slots', () => {
    expect(serializeParts(CAT, DEFAULT_MULTI)).toBe(`${DEFAULT_CATALYST}\n[1] Name a cat.\n[3] The cat sleeps.`);
    expect(serializeParts(['', '  '], DEFAULT_MULTI)).toBeNull();
  });

  it('uses a custom catalyst and custom indicators', () => {
    const opts = { catalyst: 'Q and A follow.', indicators: ['<<A>>', '<<B>>', '<<C>>'] };
    expect(serializeParts(['x', 'y', 'z'], opts)).toBe('Q and A follow.\n<<A>> x\n<<B>> y\n<<C>> z');
    expect(serializeParts(['x', 'y'], { catalyst: '', indicators: ['#a', '#b'] })).toBe('#a x\n#b y');
  });
});

describe('decompose', () => {
  it('drops the text before the first indicator, splits and trims', () => {
    expect(decompose('카탈리스트 문장입니다. [1]  가나 \n[2] 다라\n[3] 마', ['[1]', '[2]', '[3]'])).toEqual({
      ok: true,
      parts: ['가나', '다라', '마'],
    });
    expect(decompose('서론 [1] 가\n[3] 다', ['[1]', '[3]'])).toEqual({ ok: true, parts: ['가', '다'] });
  });

  it('refuses dropped, duplicated, reordered indicators and empty parts', () => {
    expect(decompose('[1] a [3] c', ['[1]', '[2]', '[3]'])).toEqual({ ok: false, reason: 'indicator [2] missing' });
    expect(decompose('[1] a [2] b [2] b [3] c', ['[1]', '[2]', '[3]'])).toEqual({
      ok: false,
      reason: 'indicator [2] appears 2 times',
    });
    expect(decompose('[2] b [1] a [3] c', ['[1]', '[2]', '[3]'])).toEqual({
      ok: false,
      reason: 'indicator [2] comes before [1]',
    });
    expect(decompose('[1] a [2]   [3] c', ['[1]', '[2]', '[3]'])).toEqual({
      ok: false,
      reason: 'part after [2] is empty',
    });
  });
});

describe('translateRecord', () => {
  it('round trip: one joint call, parts decomposed, catalyst dropped', async () => {
    const fake = new FakeTranslator();
    const r = await translateRecord(POEM, fake, 'en', 'ko');
    expect(r).toEqual({ provenance: 'joint', parts: POEM_KO });
    expect(fake.calls).toEqual([[POEM_SERIALIZED]]);
  });

  it('does not send an empty input', async () => {
    const fake = new FakeTranslator();
    const r = await translateRecord(CAT, fake, 'en', 'ko');
    expect(r.provenance).toBe('joint');
    expect(r.parts).toEqual(CAT_KO);
    expect(fake.texts.join('\n')).not.toContain('[2]');
  });

  const mangles: [string, (s: string) => string, string][] = [
    ['dropped', (s) => s.replace('[2] ', ''), 'indicator [2] missing'],
    ['duplicated', (s) => s.replace('[3]', '[3] [3]'), 'indicator [3] appears 2 times'],
    [
      'reordered',
      (s) => s.replace('[1]', '[X]').replace('[2]', '[1]').replace('[X]', '[2]'),
      'indicator [2] comes before [1]',
    ],
    ['translated', (s) => s.replace('[1]', '【1】'), 'indicator [1] missing'],
  ];
  for (const [what, mangle, reason] of mangles) {
    it(`indicator ${what} → fallback, parts translated one by one, provenance recorded`, async () => {
      const fake = new FakeTranslator({ mangle: (src, out) => (src.startsWith('The following') ? mangle(out) : out) });
      const r = await translateRecord(POEM, fake, 'en', 'ko');
      expect(r.provenance).toBe('fallback');
      expect(r.reason).toBe(reason);
      expect(r.parts).toEqual(POEM_KO);
      expect(fake.calls).toEqual([[POEM_SERIALIZED], POEM]);
    });
  }

  it('a part that fails in the fallback → failed with the error', async () => {
    const miss = (kind: 'missing') => new TranslateError({ translatorId: 'fake', kind, message: 'no entry' });
    const fake = new FakeTranslator({
      fail: (src) => (src.startsWith('The following') || src === 'The rain falls.' ? miss('missing') : null),
    });
    const r = await translateRecord(POEM, fake, 'en', 'ko');
    expect(r.provenance).toBe('failed');
    expect(r.parts).toBeNull();
    expect(r.reason).toBe('joint call: missing: no entry');
    expect(r.error?.kind).toBe('missing');
    expect(r.error?.textIndex).toBe(1);
  });

  it('a joint call that cannot reach the translator fails without a fallback', async () => {
    const fake = new FakeTranslator({
      fail: () => new TranslateError({ translatorId: 'fake', kind: 'unreachable', message: 'down' }),
    });
    const r = await translateRecord(POEM, fake, 'en', 'ko');
    expect(r.provenance).toBe('failed');
    expect(r.error?.kind).toBe('unreachable');
    expect(fake.calls.length).toBe(1);
  });

  it('a part containing an indicator skips the joint call', async () => {
    const fake = new FakeTranslator();
    const parts = ['Name a cat.', 'See [2] here.', 'The cat sleeps.'];
    const r = await translateRecord(parts, fake, 'en', 'ko');
    expect(r.provenance).toBe('fallback');
    expect(r.reason).toBe('part 2 contains an indicator token');
    expect(r.parts).toEqual(['이름 한 고양이.', '?see? [2] ?here?.', '그 고양이 잔다.']);
    expect(fake.calls).toEqual([parts]);
  });

  it('custom indicators round trip', async () => {
    const opts = { catalyst: 'The cat and the dog.', indicators: ['[7]', '[8]', '[9]'] };
    const fake = new FakeTranslator();
    const r = await translateRecord(POEM, fake, 'en', 'ko', opts);
    expect(r).toEqual({ provenance: 'joint', parts: POEM_KO });
    expect(fake.calls[0][0]).toBe(
      'The cat and the dog.\n[7] Write a poem about rain.\n[8] The rain falls.\n[9] Rain falls and the dog runs.',
    );
  });
});

describe('validateMultiOptions', () => {
  it('rejects unusable settings with a one-line reason', () => {
    expect(() => validateMultiOptions({ catalyst: 'c', indicators: ['[1]', '[2]'] }, 3)).toThrow(
      'need 3 indicator tokens, got 2',
    );
    expect(() => validateMultiOptions({ catalyst: 'c', indicators: ['#1', '#10', '#2'] }, 3)).toThrow(
      'indicator "#1" occurs inside indicator "#10"',
    );
    expect(() => validateMultiOptions({ catalyst: 'see [1]', indicators: ['[1]', '[2]', '[3]'] }, 3)).toThrow(
      'catalyst statement contains',
    );
    expect(() => validateMultiOptions({ catalyst: 'c', indicators: ['[1]', '', '[3]'] }, 3)).toThrow(
      'indicator 2 must be',
    );
    expect(() => validateMultiOptions(DEFAULT_MULTI, 3)).not.toThrow();
  });
});

describe('textsForRecord (manual export)', () => {
  it('gives the joint text, or the parts when a part holds an indicator', () => {
    expect(textsForRecord(POEM)).toEqual([POEM_SERIALIZED]);
    expect(textsForRecord(['a [3] b', '', 'c'])).toEqual(['a [3] b', 'c']);
  });
});
