// Every accepted row shape, field validation messages, mixed shapes and the `expect` option.
import { describe, expect, it } from 'vitest';
import { englishSftRecords, formatErrors, parseDataFile } from '../../src/lib/data/index';

const jsonl = (...recs: unknown[]) => recs.map((r) => JSON.stringify(r)).join('\n');

describe('row shapes', () => {
  it('SFT {prompt, response} is used verbatim', () => {
    const r = parseDataFile(jsonl({ prompt: 'Q: 2+2?\nA:', response: ' 4' }), 's.jsonl');
    expect(r.shape).toBe('sft');
    expect(r.rows).toEqual([{ kind: 'sft', prompt: 'Q: 2+2?\nA:', response: ' 4' }]);
  });

  it('Alpaca {instruction, input?, output}, and `response` in place of `output` (Dolly)', () => {
    const r = parseDataFile(
      jsonl(
        { instruction: 'Translate to French.', input: 'cat', output: 'chat' },
        { instruction: 'Name a prime.', output: '7' },
        { instruction: 'Name a colour.', input: null, output: 'red' },
      ),
      'a.jsonl',
    );
    expect(r.shape).toBe('alpaca');
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([
      {
        kind: 'sft',
        prompt: '### Instruction:\nTranslate to French.\n\n### Input:\ncat\n\n### Response:\n',
        response: 'chat',
      },
      { kind: 'sft', prompt: '### Instruction:\nName a prime.\n\n### Response:\n', response: '7' },
      { kind: 'sft', prompt: '### Instruction:\nName a colour.\n\n### Response:\n', response: 'red' },
    ]);
    const dolly = parseDataFile(jsonl({ dolly_index: 0, instruction: 'When?', response: 'In 2000.' }), 'd.jsonl');
    expect(dolly.rows).toEqual([
      { kind: 'sft', prompt: '### Instruction:\nWhen?\n\n### Response:\n', response: 'In 2000.' },
    ]);
  });

  it('chat {messages} without a template uses the plain fallback', () => {
    const r = parseDataFile(
      jsonl({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: 'Name a fruit' },
          { role: 'assistant', content: 'Apple' },
        ],
      }),
      'c.jsonl',
    );
    expect(r.shape).toBe('chat');
    expect(r.rows).toEqual([
      {
        kind: 'sft',
        prompt:
          '### System:\nBe brief.\n\n### Instruction:\nHi\n\n### Response:\nHello\n\n### Instruction:\nName a fruit\n\n### Response:\n',
        response: 'Apple',
      },
    ]);
  });

  it('preference {prompt, chosen, rejected}', () => {
    const r = parseDataFile(jsonl({ prompt: 'P', chosen: 'good', rejected: 'bad' }), 'p.jsonl', {
      expect: 'preference',
    });
    expect(r.shape).toBe('preference');
    expect(r.rows).toEqual([{ kind: 'preference', prompt: 'P', chosen: 'good', rejected: 'bad' }]);
  });

  it('CLO {x_en, y_en, x_tgt, y_tgt, lang} is used verbatim', () => {
    const r = parseDataFile(jsonl({ x_en: 'Q?', y_en: 'A.', x_tgt: '질문?', y_tgt: '답.', lang: 'ko' }), 'q.jsonl');
    expect(r.shape).toBe('clo');
    expect(r.rows).toEqual([{ kind: 'clo', xEn: 'Q?', yEn: 'A.', xTgt: '질문?', yTgt: '답.', lang: 'ko' }]);
  });

  it('CLO en_/<lang>_ pairs work for any language code', () => {
    const r = parseDataFile(
      jsonl({
        en_instruction: 'Greet.',
        en_output: 'Hello.',
        ja_instruction: '挨拶して。',
        ja_input: '',
        ja_output: 'こんにちは。',
      }),
      'ja.jsonl',
    );
    expect(r.shape).toBe('clo-paired');
    expect(r.rows).toEqual([
      {
        kind: 'clo',
        xEn: '### Instruction:\nGreet.\n\n### Response:\n',
        yEn: 'Hello.',
        xTgt: '### Instruction:\n挨拶して。\n\n### Response:\n',
        yTgt: 'こんにちは。',
        lang: 'ja',
      },
    ]);
  });
});

describe('validation', () => {
  it('names the field and the problem', () => {
    const r = parseDataFile(
      jsonl(
        { instruction: 'ok', output: 'fine' }, // 1
        { instruction: 'x' }, // 2
        { instruction: '', output: 'y' }, // 3
        { instruction: 'x', output: 42 }, // 4
        { instruction: 'x', input: ['a'], output: 'y' }, // 5
        { instruction: '   ', output: 'y' }, // 6
      ),
      'v.jsonl',
    );
    expect(formatErrors(r)).toEqual([
      'v.jsonl line 2: missing field "output"',
      'v.jsonl line 3: field "instruction" is empty',
      'v.jsonl line 4: field "output" must be a string, got number',
      'v.jsonl line 5: field "input" must be a string, got array',
      'v.jsonl line 6: field "instruction" is empty',
    ]);
    expect(r.rows.length).toBe(1);
  });

  it('checks chat messages', () => {
    const r = parseDataFile(
      jsonl(
        { messages: 'hi' },
        { messages: [{ role: 'assistant', content: 'alone' }] },
        {
          messages: [
            { role: 'user', content: 'a' },
            { role: 'user', content: 'b' },
          ],
        },
        {
          messages: [
            { role: 'user', content: 'a' },
            { role: 'assistant', content: 3 },
          ],
        },
        { messages: [{ content: 'a' }, { role: 'assistant', content: 'b' }] },
        {
          messages: [
            { role: 'user', content: 'a' },
            { role: 'assistant', content: '' },
          ],
        },
      ),
      'm.jsonl',
    );
    expect(r.errors).toEqual([
      { line: 1, message: 'field "messages" must be an array, got string' },
      { line: 2, message: 'field "messages" needs at least one message before the assistant reply' },
      { line: 3, message: 'the last message must have role "assistant" (got "user")' },
      { line: 4, message: 'messages[1].content must be a string, got number' },
      { line: 5, message: 'messages[0].role must be a non-empty string, got undefined' },
      { line: 6, message: 'messages[1].content (the assistant reply) is empty' },
    ]);
  });

  it('CLO pairs need the target output, and one target language', () => {
    const r = parseDataFile(
      jsonl(
        { en_instruction: 'a', en_output: 'b', ko_instruction: 'c', ko_output: null },
        { en_instruction: 'a', en_output: 'b', ko_instruction: 'c' },
        {
          en_instruction: 'a',
          en_output: 'b',
          ko_instruction: 'c',
          ko_output: 'd',
          ja_instruction: 'e',
          ja_output: 'f',
        },
        { en_instruction: 'a', en_output: 'b' },
        { x_en: 'a', y_en: 'b', x_tgt: 'c', y_tgt: 'd' },
      ),
      'c.jsonl',
    );
    expect(r.errors).toEqual([
      { line: 1, message: 'field "ko_output" is null' },
      { line: 2, message: 'missing field "ko_output"' },
      { line: 3, message: 'several target languages (ja, ko); use one per row' },
      { line: 4, message: 'no target-language fields (expected e.g. "ko_instruction" and "ko_output")' },
      {
        line: 5,
        message:
          "row has shape clo {x_en, y_en, x_tgt, y_tgt, lang} but this file's rows are clo-paired {en_instruction, en_input?, en_output, <lang>_instruction, <lang>_input?, <lang>_output}",
      },
    ]);
  });

  it('mixed shapes: the majority shape wins and the other rows are errors', () => {
    const r = parseDataFile(
      jsonl(
        { prompt: 'p', response: 'r' }, // 1: minority
        { instruction: 'i', output: 'o' },
        { instruction: 'i', output: 'o' },
        { prompt: 'p', chosen: 'c', rejected: 'r' }, // 4: minority
        { instruction: 'i', output: 'o' },
      ),
      'mix.jsonl',
    );
    expect(r.shape).toBe('alpaca');
    expect(r.rows.length).toBe(3);
    expect(r.errors.map((e) => e.line)).toEqual([1, 4]);
    expect(r.errors[0].message).toBe(
      "row has shape sft {prompt, response} but this file's rows are alpaca {instruction, input?, output}",
    );
    // A tie goes to the shape seen first.
    const tie = parseDataFile(jsonl({ prompt: 'p', response: 'r' }, { instruction: 'i', output: 'o' }), 't.jsonl');
    expect(tie.shape).toBe('sft');
    expect(tie.errors.map((e) => e.line)).toEqual([2]);
  });

  it('expect: a file of the wrong kind is rejected as a whole', () => {
    const r = parseDataFile(jsonl({ prompt: 'p', response: 'r' }, { prompt: 'q', response: 's' }), 'sft.jsonl', {
      expect: 'preference',
    });
    expect(r.rows).toEqual([]);
    expect(r.total).toBe(2);
    expect(formatErrors(r)).toEqual([
      'sft.jsonl: rows are sft rows (sft {prompt, response}) but preference rows are needed',
    ]);
    // Alpaca and chat files are sft rows too.
    expect(parseDataFile(jsonl({ instruction: 'i', output: 'o' }), 'a.jsonl', { expect: 'sft' }).rows.length).toBe(1);
  });
});

describe('englishSftRecords', () => {
  it('returns the separate English parts of Alpaca, SFT, chat and paired rows', () => {
    expect(englishSftRecords(jsonl({ instruction: 'I', input: 'N', output: 'O' }), 'a.jsonl').rows).toEqual([
      { instruction: 'I', input: 'N', output: 'O' },
    ]);
    expect(englishSftRecords(jsonl({ prompt: 'P', response: 'R' }), 's.jsonl').rows).toEqual([
      { instruction: 'P', input: '', output: 'R' },
    ]);
    expect(
      englishSftRecords(
        jsonl({
          messages: [
            { role: 'system', content: 'S' },
            { role: 'user', content: 'U' },
            { role: 'assistant', content: 'A' },
          ],
        }),
        'c.jsonl',
      ).rows,
    ).toEqual([{ instruction: 'U', input: '', output: 'A' }]);
    // The KULLM pairs have ko_output null: the English side is still usable.
    const paired = englishSftRecords(
      jsonl({
        id: 'x',
        en_instruction: 'EI',
        en_input: 'EN',
        en_output: 'EO',
        ko_instruction: 'KI',
        ko_input: 'KN',
        ko_output: null,
      }),
      'p.jsonl',
    );
    expect(paired.errors).toEqual([]);
    expect(paired.rows).toEqual([{ instruction: 'EI', input: 'EN', output: 'EO' }]);
  });

  it('rejects preference rows and multi-turn chats by line', () => {
    const pref = englishSftRecords(jsonl({ prompt: 'p', chosen: 'c', rejected: 'r' }), 'p.jsonl');
    expect(pref.errors).toEqual([
      {
        line: 1,
        message: 'preference rows {prompt, chosen, rejected} have no English instruction/output to translate',
      },
    ]);
    const multi = englishSftRecords(
      jsonl({
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: 'c' },
          { role: 'assistant', content: 'd' },
        ],
      }),
      'm.jsonl',
    );
    expect(multi.errors[0].line).toBe(1);
    expect(multi.errors[0].message).toMatch(/single-turn/);
  });
});
