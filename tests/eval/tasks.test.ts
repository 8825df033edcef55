import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  enBoolq,
  enCopa,
  enHellaswag,
  hellaswagPreprocess,
  kobestBoolq,
  kobestCopa,
  kobestHellaswag,
  kobestSentineg,
  kobestWic,
  parseTaskList,
  resolveSplit,
  KOBEST_TASKS,
} from '../../src/lib/eval/tasks';
import { decodeDataBytes, parseTaskDocs } from '../../src/lib/eval/data';
import { ROOT } from '../helpers/helpers';

describe('KoBEST field mapping (docs/methods.md §4)', () => {
  it('boolq: context template and Answer true/false in any case', () => {
    const d = kobestBoolq.toDoc({ ID: '1', Text: '본문.', Question: '질문인가?', Answer: 'TRUE' });
    expect(d.context).toBe('본문. 질문: 질문인가? 답변: ');
    expect(d.choices).toEqual(['아니오', '예']);
    for (const [a, g] of [
      ['TRUE', 1],
      ['True', 1],
      ['true', 1],
      ['FALSE', 0],
      ['False', 0],
      ['false', 0],
    ] as const) {
      expect(kobestBoolq.toDoc({ Text: 't', Question: 'q', Answer: a }).gold).toBe(g);
    }
    expect(() => kobestBoolq.toDoc({ Text: 't', Question: 'q', Answer: 'yes' })).toThrow(/Answer/);
  });

  it('copa: connector by question, choices 1/2, Answer 1/2 → 0/1', () => {
    const cause = kobestCopa.toDoc({
      sentence: '영화를 보고 눈물을 흘렸다.',
      question: '원인',
      '1': '가.',
      '2': '나.',
      Answer: '2',
    });
    expect(cause.context).toBe('영화를 보고 눈물을 흘렸다.  왜냐하면');
    expect(cause.choices).toEqual(['가.', '나.']);
    expect(cause.gold).toBe(1);
    const effect = kobestCopa.toDoc({ sentence: 'S', question: '결과', '1': 'a', '2': 'b', Answer: '1' });
    expect(effect.context).toBe('S  그래서');
    expect(effect.gold).toBe(0);
    expect(() => kobestCopa.toDoc({ sentence: 'S', question: '결과', '1': 'a', '2': 'b', Answer: '3' })).toThrow(
      /Answer/,
    );
  });

  it('hellaswag: 문장: context, four choices, label', () => {
    const d = kobestHellaswag.toDoc({
      context: 'C',
      choice1: 'a',
      choice2: 'b',
      choice3: 'c',
      choice4: 'd',
      label: '3',
    });
    expect(d).toEqual({ context: '문장: C', choices: ['a', 'b', 'c', 'd'], gold: 3 });
  });

  it('sentineg: test uses Text/Label (not the *_origin fields)', () => {
    const d = kobestSentineg.toDoc({
      ID: '3394',
      Label_origin: '0',
      Text_origin: '택배사 정말 마음에 안들음',
      Label: '1',
      Text: '택배사 정말 마음에 듬',
      Category_neg: '1',
    });
    expect(d).toEqual({ context: '문장: 택배사 정말 마음에 듬 긍부정:', choices: ['부정', '긍정'], gold: 1 });
  });

  it('wic: template with Target, ANSWER in any case', () => {
    const d = kobestWic.toDoc({ Target: '철', SENTENCE1: 'A [철].', SENTENCE2: 'B [철].', ANSWER: 'False' });
    expect(d.context).toBe('문장1: A [철]. 문장2: B [철]. 두 문장에서 철가 같은 뜻으로 쓰였나?');
    expect(d.choices).toEqual(['아니오', '예']);
    expect(d.gold).toBe(0);
    expect(kobestWic.toDoc({ Target: 't', SENTENCE1: 'a', SENTENCE2: 'b', ANSWER: 'TRUE' }).gold).toBe(1);
    expect(kobestWic.toDoc({ Target: 't', SENTENCE1: 'a', SENTENCE2: 'b', ANSWER: 'true' }).gold).toBe(1);
  });
});

describe('English tasks (docs/methods.md §5)', () => {
  it('copa dev (SuperGLUE fields): premise without its period, lower-cased choices with a leading space', () => {
    const d = enCopa.toDoc({
      premise: 'The man turned on the faucet.',
      choice1: 'The toilet filled with water.',
      choice2: 'Water flowed from the spout.',
      question: 'effect',
      label: 1,
      idx: 0,
    });
    expect(d.context).toBe('The man turned on the faucet therefore');
    expect(d.choices).toEqual([' the toilet filled with water.', ' water flowed from the spout.']);
    expect(d.gold).toBe(1);
  });

  it('copa test (original fields): asks-for, a1/a2, most-plausible-alternative 1/2 → 0/1', () => {
    const d = enCopa.toDoc({
      id: '501',
      'asks-for': 'cause',
      'most-plausible-alternative': '1',
      p: 'The item was packaged in bubble wrap.',
      a1: 'It was fragile.',
      a2: 'It was small.',
    });
    expect(d.context).toBe('The item was packaged in bubble wrap because');
    expect(d.choices).toEqual([' it was fragile.', ' it was small.']);
    expect(d.gold).toBe(0);
  });

  it('boolq: passage / Question: q? / Answer:, JSON boolean label', () => {
    const d = enBoolq.toDoc({ question: 'is it', passage: 'T -- p', idx: 0, label: true });
    expect(d).toEqual({ context: 'T -- p\nQuestion: is it?\nAnswer:', choices: ['no', 'yes'], gold: 1 });
    expect(enBoolq.toDoc({ question: 'q', passage: 'p', label: false }).gold).toBe(0);
  });

  it('hellaswag preprocess: strip, " [title]" → ". ", drop [..], collapse double spaces', () => {
    expect(
      hellaswagPreprocess(' Health: [header] How to recover [title] Forgive yourself. [step] While forgiving. '),
    ).toBe('Health: How to recover. Forgive yourself. While forgiving.');
    const d = enHellaswag.toDoc({
      context: 'A man [title] runs.',
      endings: ['a [b] c', 'd', 'e', 'f'],
      label: 2,
      activity_label: 'Run',
    });
    expect(d.context).toBe('Run: A man. runs.');
    expect(d.choices).toEqual(['a c', 'd', 'e', 'f']);
    expect(d.gold).toBe(2);
  });
});

describe('task list and splits', () => {
  it('parses names and rejects unknown ones by name', () => {
    expect(parseTaskList('kobest_copa, en_boolq').map((t) => t.name)).toEqual(['kobest_copa', 'en_boolq']);
    expect(() => parseTaskList('kobest_copa,kobest_nope')).toThrow(/kobest_nope/);
  });
  it('defaults: KoBEST test, English dev; an absent split is an error naming the task', () => {
    expect(resolveSplit(kobestCopa)).toBe('test');
    expect(resolveSplit(enCopa)).toBe('dev');
    expect(resolveSplit(enCopa, 'test')).toBe('test');
    expect(() => resolveSplit(enBoolq, 'test')).toThrow(/en_boolq/);
  });
});

describe('bundled data (public/data), counts and label balance checked with python on shared/data', () => {
  const load = (task: (typeof KOBEST_TASKS)[number], split: 'test' | 'train') => {
    const rel = task.files[split] as string;
    const bytes = new Uint8Array(readFileSync(resolve(ROOT, 'public/data', `${rel}.gz`)));
    return parseTaskDocs(task, decodeDataBytes(bytes), rel);
  };
  it('every KoBEST test row maps', () => {
    const expected: Record<string, [number, number]> = {
      // [rows, rows with gold 1] (hellaswag: gold 3)
      kobest_boolq: [1404, 705],
      kobest_copa: [1000, 483],
      kobest_hellaswag: [500, 118],
      kobest_sentineg: [397, 200],
      kobest_wic: [1260, 615],
    };
    // the whole train split is the few-shot pool (row counts of the KoBEST v1.0 train TSVs)
    const trainRows: Record<string, number> = {
      kobest_boolq: 3665,
      kobest_copa: 3076,
      kobest_hellaswag: 2029,
      kobest_sentineg: 3649,
      kobest_wic: 3318,
    };
    for (const t of KOBEST_TASKS) {
      const docs = load(t, 'test');
      const positive = t.name === 'kobest_hellaswag' ? 3 : 1;
      expect([docs.length, docs.filter((d) => d.gold === positive).length], t.name).toEqual(expected[t.name]);
      expect(load(t, 'train').length, t.name).toBe(trainRows[t.name]);
    }
  });
  it('a bad row is reported with file and line', () => {
    const text = '{"Text":"a","Question":"b","Answer":"True"}\n{"Text":"a","Question":"b","Answer":"maybe"}\n';
    expect(() => parseTaskDocs(kobestBoolq, text, 'x.jsonl')).toThrow(
      /x\.jsonl line 2 \(kobest_boolq\): field "Answer"/,
    );
  });
});
