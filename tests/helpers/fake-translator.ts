/**
 * Deterministic fake translator for tests only (docs/methods.md §7): word by word through a small
 * dictionary; indicator tokens like `[1]` are kept; a word not in the dictionary becomes `?word?`;
 * trailing punctuation (. , ? !) is kept after the translated word. `mangle` can rewrite the
 * output of a call (to simulate a translator that breaks indicators); `fail` can make a text fail.
 */
import { TranslateError, type Translator } from '../../src/lib/translate/types';

export const DICT: Record<string, string> = {
  the: '그',
  following: '다음은',
  is: '이다',
  an: '하나의',
  instruction: '지시',
  its: '그것의',
  input: '입력',
  and: '그리고',
  answer: '답',
  to: '에',
  it: '그것',
  name: '이름',
  a: '한',
  cat: '고양이',
  sleeps: '잔다',
  dog: '개',
  runs: '달린다',
  write: '써라',
  poem: '시',
  about: '대해',
  rain: '비',
  falls: '내린다',
};

export function fakeWord(w: string): string {
  if (/^\[\d+\]$/.test(w)) return w;
  const m = /^(.*?)([.,?!]*)$/.exec(w) as RegExpExecArray;
  const core = m[1].toLowerCase();
  const t = DICT[core];
  return (t ?? `?${core}?`) + m[2];
}

/** Translates each line word by word, keeping line breaks. */
export function fakeTranslateText(text: string): string {
  return text
    .split('\n')
    .map((line) => line.split(/\s+/).filter(Boolean).map(fakeWord).join(' '))
    .join('\n');
}

export interface FakeOptions {
  id?: string;
  mangle?: (source: string, translated: string) => string;
  fail?: (source: string) => TranslateError | null;
}

export class FakeTranslator implements Translator {
  readonly id: string;
  /** every text given to translate(), in call order; one inner array per call */
  readonly calls: string[][] = [];

  constructor(private readonly opts: FakeOptions = {}) {
    this.id = opts.id ?? 'fake';
  }

  get texts(): string[] {
    return this.calls.flat();
  }

  async translate(texts: string[], _source: string, _target: string): Promise<string[]> {
    this.calls.push([...texts]);
    return texts.map((t, i) => {
      const err = this.opts.fail?.(t);
      if (err)
        throw new TranslateError({
          translatorId: this.id,
          kind: err.kind,
          message: err.detail,
          status: err.status,
          textIndex: i,
        });
      const out = fakeTranslateText(t);
      return this.opts.mangle ? this.opts.mangle(t, out) : out;
    });
  }
}
