// Prompt formats: the Alpaca template of docs/methods.md §6, Jinja chat templates, and the CLO en_/ko_ mapping
// on a real row of the bundled paired file. Expected strings are written out by hand.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alpacaPrompt, cloRowFromParts, formatErrors, parseDataFile, plainChatPrompt } from '../../src/lib/data/index';

describe('Alpaca template', () => {
  it('matches docs/methods.md §6 exactly', () => {
    expect(alpacaPrompt('Identify the odd one out.', 'Twitter, Instagram, Telegram')).toBe(
      '### Instruction:\nIdentify the odd one out.\n\n### Input:\nTwitter, Instagram, Telegram\n\n### Response:\n',
    );
  });
  it('leaves the Input block out when input is empty', () => {
    expect(alpacaPrompt('Give three tips for staying healthy.', '')).toBe(
      '### Instruction:\nGive three tips for staying healthy.\n\n### Response:\n',
    );
    expect(alpacaPrompt('Say hi')).toBe('### Instruction:\nSay hi\n\n### Response:\n');
    expect(alpacaPrompt('Say hi', '  \n')).toBe('### Instruction:\nSay hi\n\n### Response:\n');
  });
  it('keeps multi-line text verbatim', () => {
    expect(alpacaPrompt('Fix:\n  a', 'x\ny')).toBe(
      '### Instruction:\nFix:\n  a\n\n### Input:\nx\ny\n\n### Response:\n',
    );
  });
  it('the plain chat fallback of one user turn equals the Alpaca prompt without input', () => {
    expect(plainChatPrompt([{ role: 'user', content: 'Say hi' }])).toBe(alpacaPrompt('Say hi'));
  });
});

describe('CLO mapping on the bundled Alpaca ↔ KoAlpaca pairs', () => {
  // The bundled copy, byte-identical to the shared original (checked in data-bundled.test.ts).
  const file = join(__dirname, '..', '..', 'public', 'data', 'instructions', 'paired_alpaca_koalpaca_en_ko.jsonl');
  const text = readFileSync(file, 'utf8');

  it('line 6 (alpaca_5) maps en_* and ko_* to x/y through the template', () => {
    const expected = {
      kind: 'clo',
      xEn: '### Instruction:\nIdentify the odd one out.\n\n### Input:\nTwitter, Instagram, Telegram\n\n### Response:\n',
      yEn: 'Telegram',
      xTgt: '### Instruction:\n홀수 중 하나를 밝히세요.\n\n### Input:\n트위터, 인스타그램, 텔레그램\n\n### Response:\n',
      yTgt: '텔레그램입니다.',
      lang: 'ko',
    };
    const line6 = text.split('\n')[5];
    expect(parseDataFile(line6, 'one.jsonl').rows).toEqual([expected]);
    const all = parseDataFile(text, 'paired_alpaca_koalpaca_en_ko.jsonl', { expect: 'clo' });
    expect(all.rows[5]).toEqual(expected);
    expect(
      cloRowFromParts(
        { instruction: 'Identify the odd one out.', input: 'Twitter, Instagram, Telegram', output: 'Telegram' },
        { instruction: '홀수 중 하나를 밝히세요.', input: '트위터, 인스타그램, 텔레그램', output: '텔레그램입니다.' },
        'ko',
      ),
    ).toEqual(expected);
  });

  it('the whole file: 335 rows, one with an empty en_output (line 285) reported', () => {
    // Independent count: python3 -c "import json; print([i+1 for i,l in enumerate(open(F)) if not json.loads(l)['en_output'].strip()])" → [285]
    const all = parseDataFile(text, 'paired.jsonl');
    expect(all.total).toBe(335);
    expect(all.rows.length).toBe(334);
    expect(formatErrors(all)).toEqual(['paired.jsonl line 285: field "en_output" is empty']);
    expect(all.rows[0]).toEqual({
      kind: 'clo',
      xEn: '### Instruction:\nGive three tips for staying healthy.\n\n### Response:\n',
      yEn: '1.Eat a balanced diet and make sure to include plenty of fruits and vegetables. \n2. Exercise regularly to keep your body active and strong. \n3. Get enough sleep and maintain a consistent sleep schedule.',
      xTgt: '### Instruction:\n건강을 유지하기 위한 세 가지 팁을 알려주세요.\n\n### Response:\n',
      yTgt: '세 가지 팁은 아침식사를 꼭 챙기며, 충분한 수면을 취하고, 적극적으로 운동을 하는 것입니다.',
      lang: 'ko',
    });
  });
});

describe('chat templates (Jinja)', () => {
  const chatml =
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}" +
    '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';
  const llama2ish =
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]" +
    "{% elif m['role'] == 'assistant' %} {{ m['content'] }}{{ eos_token }}{% else %}{{ raise_exception('bad role ' + m['role']) }}{% endif %}{% endfor %}";

  it('renders chat rows: prompt = conversation before the reply + generation prompt', () => {
    const text = JSON.stringify({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: '안녕?' },
        { role: 'assistant', content: '안녕하세요.' },
      ],
    });
    const r = parseDataFile(text, 'c.jsonl', { chatTemplate: chatml });
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([
      {
        kind: 'sft',
        prompt:
          '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\n안녕?<|im_end|>\n<|im_start|>assistant\n',
        response: '안녕하세요.',
      },
    ]);
  });

  it('passes bos/eos tokens and applies the template to Alpaca rows (instruction, blank line, input)', () => {
    const text = JSON.stringify({ instruction: 'Add.', input: '2 3', output: '5' });
    const r = parseDataFile(text, 'a.jsonl', { chatTemplate: llama2ish, bosToken: '<s>', eosToken: '</s>' });
    expect(r.rows).toEqual([{ kind: 'sft', prompt: '<s>[INST] Add.\n\n2 3 [/INST]', response: '5' }]);
  });

  it('reports raise_exception from the template as a row error', () => {
    const text = JSON.stringify({
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'U' },
        { role: 'assistant', content: 'A' },
      ],
    });
    const r = parseDataFile(text, 'x.jsonl', { chatTemplate: llama2ish });
    expect(r.rows).toEqual([]);
    expect(r.errors.length).toBe(1);
    expect(r.errors[0].line).toBe(1);
    expect(r.errors[0].message).toMatch(/^chat template failed: .*bad role system/);
  });

  it('a template that does not compile is one file-level error', () => {
    const r = parseDataFile('{"prompt":"a","response":"b"}', 'x.jsonl', { chatTemplate: '{% for m in messages %}' });
    expect(r.rows).toEqual([]);
    expect(r.errors.length).toBe(1);
    expect(r.errors[0].line).toBe(0);
    expect(r.errors[0].message).toMatch(/^chat template does not compile/);
  });

  it('leaves {prompt, response} rows verbatim even with a template', () => {
    const r = parseDataFile('{"prompt":"raw","response":"text"}', 'x.jsonl', { chatTemplate: chatml });
    expect(r.rows).toEqual([{ kind: 'sft', prompt: 'raw', response: 'text' }]);
  });
});
