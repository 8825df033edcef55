/**
 * The streamed JSONL index (src/lib/data/stream.ts) gives the rows, errors, shape and totals that
 * parseDataFile gives for the same file, whatever the chunk sizes the bytes arrive in: broken JSON,
 * a BOM, CRLF, blank lines, mixed shapes, fields of the wrong type, a file of the wrong kind,
 * multi-byte text split across chunks, no final newline.
 */
import { describe, expect, it } from 'vitest';
import { parseDataFile, type ParseDataOptions } from '../../src/lib/data';
import { JsonlIndexer } from '../../src/lib/data/stream';
import { mulberry32 } from '../../src/lib/model/sample';

const j = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const sft = [
  { prompt: 'Once upon a time', response: ' there was a cat.' },
  { prompt: '고양이는', response: ' 잘 잤다. 🐈' },
  { prompt: 'Lily saw', response: ' a big red ball.' },
];

const FILES: Record<string, string | Uint8Array> = {
  sft: j(sft),
  'no final newline': j(sft).trimEnd(),
  crlf: j(sft).replace(/\n/g, '\r\n'),
  bom: '\ufeff' + j(sft),
  blank: '\n\n  \n' + j(sft) + '\n\t\n',
  broken: '{"prompt": "a", "response": "b"}\n{"prompt": "c", "resp\n' + j(sft),
  'mixed shapes': j([...sft, { instruction: 'Say hi.', output: 'Hi.' }, { foo: 1 }, 5, null, [1]]),
  'bad fields': j([
    ...sft,
    { prompt: null, response: 'x' },
    { prompt: 'a', response: 5 },
    { prompt: 'a', response: '' },
  ]),
  alpaca: j([
    { instruction: 'Name a cat.', input: '', output: 'Tom.' },
    { instruction: 'Say hi.', output: 'Hi.' },
    { instruction: 'Empty.', output: '' },
  ]),
  chat: j([
    {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ],
    },
    { messages: [{ role: 'user', content: 'no answer' }] },
  ]),
  clo: j([{ x_en: 'a', y_en: 'b', x_tgt: 'c', y_tgt: 'd', lang: 'ko' }, { x_en: 'a' }]),
  preference: j([{ prompt: 'p', chosen: 'c', rejected: 'r' }, ...sft]),
  'only bad': j([{ foo: 1 }, 'text', 3]),
  'only broken': '{\n[\n',
  proto:
    '{"__proto__": {"polluted": 1}, "prompt": "a", "response": "b"}\n{"constructor": 1, "prompt": "c", "response": "d"}\n',
  empty: '',
  whitespace: '\n \n\r\n',
  'invalid utf8': Uint8Array.from([
    ...new TextEncoder().encode('{"prompt": "a", "response": "b'),
    0xc3,
    0x28,
    0xff,
    ...new TextEncoder().encode('"}\n{"prompt": "c", "response": "d"}\n'),
  ]),
};
const bytesOf = (f: string | Uint8Array) => (typeof f === 'string' ? new TextEncoder().encode(f) : f);
/** the text the CLI would parse whole (readFileSync(path, 'utf8')) */
const textOf = (f: string | Uint8Array) => Buffer.from(bytesOf(f)).toString('utf8');

function streamed(file: string | Uint8Array, name: string, opts: ParseDataOptions, seed: number) {
  const bytes = bytesOf(file);
  const ix = new JsonlIndexer(name, opts);
  const rng = mulberry32(seed);
  const scratch = new Uint8Array(64); // reused between pushes, as the CLI reuses its read buffer
  for (let p = 0; p < bytes.length;) {
    const n = Math.min(1 + Math.floor(rng() * 40), bytes.length - p);
    scratch.set(bytes.subarray(p, p + n));
    ix.push(scratch.subarray(0, n));
    p += n;
  }
  const r = ix.finish((o, l) => bytes.slice(o, o + l));
  const rows = Array.from({ length: r.rows.length }, (_, i) => r.rows.get(i));
  return { ...r, rows };
}

describe('streamed JSONL index = parseDataFile', () => {
  for (const [name, text] of Object.entries(FILES))
    for (const expect_ of ['any', 'sft'] as const)
      it(`${name} (expect ${expect_})`, () => {
        const opts: ParseDataOptions = { expect: expect_ };
        const whole = parseDataFile(textOf(text), `${name}.jsonl`, opts);
        for (const seed of [1, 2, 3]) {
          const s = streamed(text, `${name}.jsonl`, opts, seed);
          expect(s.rows, `seed ${seed}`).toEqual(whole.rows);
          expect(s.errors).toEqual(whole.errors);
          expect([s.shape, s.total, s.format, s.position]).toEqual([
            whole.shape,
            whole.total,
            whole.format,
            whole.position,
          ]);
        }
      });

  it('a chat template that does not compile is one file error, as in parseDataFile', () => {
    const opts: ParseDataOptions = { chatTemplate: '{% if %}' };
    const whole = parseDataFile(textOf(FILES.chat), 'c.jsonl', opts);
    expect(whole.errors[0].message).toMatch(/chat template does not compile/);
    const s = streamed(FILES.chat, 'c.jsonl', opts, 1);
    expect([s.errors, s.total, s.shape]).toEqual([whole.errors, whole.total, whole.shape]);
  });

  it('reads each row back from its bytes', () => {
    const text = j(Array.from({ length: 5000 }, (_, i) => ({ prompt: `p${i}`, response: ` r${i}`.repeat(20) })));
    const s = streamed(text, 'big.jsonl', {}, 4);
    expect(s.rows.length).toBe(5000);
    expect(s.rows[4321]).toEqual({ kind: 'sft', prompt: 'p4321', response: ' r4321'.repeat(20) });
    expect(s.rows).toEqual(parseDataFile(text, 'big.jsonl').rows);
  });
});
