// File formats and line numbers: JSONL, JSON arrays, CSV/TSV, empty files, unknown shapes.
import { describe, expect, it } from 'vitest';
import { formatErrors, importSummary, parseDataFile } from '../../src/lib/data/index';
import { parseRecords } from '../../src/lib/data/parse';

const sft = (p: string, r: string) => JSON.stringify({ prompt: p, response: r });

describe('JSONL', () => {
  it('reports exactly the two broken rows by their 1-based line numbers', () => {
    const lines = [
      sft('a', '1'),
      sft('b', '2'),
      '{"prompt": "c", "response": }', // line 3: invalid JSON
      sft('d', '4'),
      '',
      sft('e', '5'),
      '{"prompt": "f"}', // line 7: missing response
      sft('g', '6'),
    ];
    const r = parseDataFile(lines.join('\n'), 'train.jsonl');
    expect(r.errors.map((e) => e.line)).toEqual([3, 7]);
    expect(r.errors[0].message).toMatch(/^invalid JSON \(/);
    expect(r.errors[1].message).toBe('missing field "response"');
    expect(r.rows.map((x) => (x.kind === 'sft' ? x.prompt : ''))).toEqual(['a', 'b', 'd', 'e', 'g']);
    expect(r.total).toBe(7); // the blank line is not a row
    expect(r.shape).toBe('sft');
    expect(r.format).toBe('jsonl');
    expect(formatErrors(r, 10)).toEqual([
      `train.jsonl line 3: ${r.errors[0].message}`,
      'train.jsonl line 7: missing field "response"',
    ]);
    expect(importSummary(r)).toBe('train.jsonl: 5 of 7 rows accepted (sft), 2 skipped');
  });

  it('handles CRLF line ends and a byte-order mark', () => {
    const text = `\uFEFF${sft('a', 'x')}\r\n${sft('b', 'y')}\r\n`;
    const r = parseDataFile(text, 'crlf.jsonl');
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([
      { kind: 'sft', prompt: 'a', response: 'x' },
      { kind: 'sft', prompt: 'b', response: 'y' },
    ]);
  });

  it('rejects a line that is JSON but not an object', () => {
    const r = parseDataFile(`${sft('a', 'x')}\n[1, 2]\n"text"\n`, 'f.jsonl');
    expect(r.errors).toEqual([
      { line: 2, message: expect.stringContaining('expected a JSON object with row fields, got array') },
      { line: 3, message: expect.stringContaining('got string') },
    ]);
  });

  it('formatErrors caps the list and says how many more there are', () => {
    const text = Array.from({ length: 5 }, () => '{"prompt": 1, "response": "x"}').join('\n');
    const r = parseDataFile(text, 'bad.jsonl');
    expect(formatErrors(r, 2)).toEqual([
      'bad.jsonl line 1: field "prompt" must be a string, got number',
      'bad.jsonl line 2: field "prompt" must be a string, got number',
      'bad.jsonl: ... and 3 more errors',
    ]);
  });
});

describe('JSON array', () => {
  it('numbers items from 1 and reports bad items as "item N"', () => {
    const text = JSON.stringify([
      { instruction: 'Say hi', output: 'hi' },
      { instruction: 'Say bye' },
      { instruction: 'Count', input: '1 2', output: '3' },
    ]);
    const r = parseDataFile(text, 'data.json');
    expect(r.format).toBe('json');
    expect(r.position).toBe('item');
    expect(r.rows.length).toBe(2);
    expect(r.errors).toEqual([{ line: 2, message: 'missing field "output"' }]);
    expect(formatErrors(r)).toEqual(['data.json item 2: missing field "output"']);
  });

  it('a broken JSON array is one file-level error naming the line', () => {
    const text = '[\n  {"prompt": "a", "response": "b"},\n  {"prompt": "c" "response": "d"}\n]';
    const r = parseDataFile(text, 'broken.json');
    expect(r.rows).toEqual([]);
    expect(r.errors.length).toBe(1);
    expect(r.errors[0].line).toBe(0);
    expect(r.errors[0].message).toMatch(/^invalid JSON/);
    expect(r.errors[0].message).toMatch(/line 3/);
  });

  it('a .json file holding JSON lines is read as JSONL', () => {
    const r = parseDataFile(`${sft('a', 'b')}\n${sft('c', 'd')}`, 'lines.json');
    expect(r.format).toBe('jsonl');
    expect(r.rows.length).toBe(2);
  });
});

describe('CSV', () => {
  it('keeps quoted commas and newlines, and numbers records by their first physical line', () => {
    const text = [
      'instruction,input,output',
      '"Add the numbers, then stop",1 2,3', // line 2
      '"Write two lines","","first line', // line 3, record continues on line 4
      'second line"',
      '"Name a colour",,', // line 5: empty output
      'Say hi,,hi', // line 6
      '"Three', // lines 7-9: one record
      'lines",,"and',
      'more"',
      'Bad,,', // line 10: empty output
    ].join('\n');
    const r = parseDataFile(text, 'table.csv');
    expect(r.format).toBe('csv');
    expect(r.shape).toBe('alpaca');
    expect(r.rows).toEqual([
      {
        kind: 'sft',
        prompt: '### Instruction:\nAdd the numbers, then stop\n\n### Input:\n1 2\n\n### Response:\n',
        response: '3',
      },
      {
        kind: 'sft',
        prompt: '### Instruction:\nWrite two lines\n\n### Response:\n',
        response: 'first line\nsecond line',
      },
      { kind: 'sft', prompt: '### Instruction:\nSay hi\n\n### Response:\n', response: 'hi' },
      { kind: 'sft', prompt: '### Instruction:\nThree\nlines\n\n### Response:\n', response: 'and\nmore' },
    ]);
    expect(r.errors).toEqual([
      { line: 5, message: 'field "output" is empty' },
      { line: 10, message: 'field "output" is empty' },
    ]);
  });

  it('reports a row with too many fields by line', () => {
    const text = 'prompt,response\na,b\nc,d,e\n\nf,g\n';
    const r = parseDataFile(text, 'x.csv');
    expect(r.rows.length).toBe(2);
    expect(r.errors.length).toBe(1);
    expect(r.errors[0].line).toBe(3);
    expect(r.errors[0].message).toMatch(/TooManyFields/);
  });

  it('reads TSV and decodes a JSON messages column', () => {
    const msgs = JSON.stringify([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ]).replace(/"/g, '""');
    const r = parseDataFile(`id\tmessages\n1\t"${msgs}"\n`, 'chat.tsv');
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([{ kind: 'sft', prompt: '### Instruction:\nHi\n\n### Response:\n', response: 'Hello' }]);
  });
});

describe('raw text for continued pretraining', () => {
  it('{"text"} rows become sft rows with an empty prompt; a row missing its text names the line', () => {
    const r = parseDataFile('{"text": "하나"}\n{"text": 2}\n{"text": "셋"}\n', 'ko.jsonl');
    expect(r.shape).toBe('text');
    expect(r.rows).toEqual([
      { kind: 'sft', prompt: '', response: '하나' },
      { kind: 'sft', prompt: '', response: '셋' },
    ]);
    expect(r.errors.map((e) => e.line)).toEqual([2]);
    expect(r.errors[0].message).toMatch(/text/);
  });

  it('a .txt file is one text per non-blank line, numbered by physical line', () => {
    const raw = parseRecords('첫 줄\r\n\n  \nsecond line\n', 'corpus.txt');
    expect(raw.format).toBe('text');
    expect(raw.records).toEqual([
      { line: 1, value: { text: '첫 줄' } },
      { line: 4, value: { text: 'second line' } },
    ]);
    const r = parseDataFile('첫 줄\n\nsecond line\n', 'corpus.txt');
    expect(r.rows.map((x) => (x.kind === 'sft' ? x.response : ''))).toEqual(['첫 줄', 'second line']);
    expect(formatErrors(parseDataFile('\n \n', 'blank.txt'))).toEqual(['blank.txt: file is empty (no rows)']);
  });

  it('text rows sit beside other shapes only as a majority: an instruction file keeps its shape', () => {
    const r = parseDataFile(`${sft('a', 'b')}\n${sft('c', 'd')}\n{"text": "x"}\n`, 'mix.jsonl');
    expect(r.shape).toBe('sft');
    expect(r.errors.map((e) => e.line)).toEqual([3]);
  });
});

describe('whole-file problems', () => {
  it('an empty file is one clear error', () => {
    for (const text of ['', '   \n\n']) {
      const r = parseDataFile(text, 'empty.jsonl');
      expect(r.rows).toEqual([]);
      expect(r.total).toBe(0);
      expect(formatErrors(r)).toEqual(['empty.jsonl: file is empty (no rows)']);
    }
    expect(formatErrors(parseDataFile('[]', 'e.json'))).toEqual(['e.json: JSON array is empty (no rows)']);
    expect(formatErrors(parseDataFile('', 'e.csv'))).toEqual(['e.csv: file is empty (no rows)']);
  });

  it('a file of an unknown shape reports every row', () => {
    const text = [
      '{"id": 1, "en": "Hello", "ko": "안녕"}',
      '{"id": 2, "en": "Bye", "ko": "잘 가"}',
      '{"id": 3, "en": "Yes", "ko": "네"}',
    ].join('\n');
    const r = parseDataFile(text, 'pairs.jsonl');
    expect(r.shape).toBe('unknown');
    expect(r.rows).toEqual([]);
    expect(r.errors.map((e) => e.line)).toEqual([1, 2, 3]);
    for (const e of r.errors) expect(e.message).toMatch(/^unrecognised row shape \(fields: id, en, ko\)/);
  });

  it('parseRecords keeps raw values with their lines', () => {
    const raw = parseRecords('{"a":1}\n\n{"b":2}\n', 'r.jsonl');
    expect(raw.records).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 3, value: { b: 2 } },
    ]);
  });
});
