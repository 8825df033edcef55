// The bundled slices in public/data: manifest matches the files, slices match their sources,
// licences are marked, and the parser is fast on 5,000-row files.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { englishSftRecords, parseDataFile } from '../../src/lib/data/index';
import { checkManifest } from '../../src/lib/data/manifest';
import { requireShared, ROOT } from '../helpers/helpers';

const PUBLIC = join(ROOT, 'public');
// The source files the slices were cut from (../shared/data): a test that needs them fails naming the missing path.
const shared = (...parts: string[]) => requireShared('data', ...parts);
const manifest = checkManifest(JSON.parse(readFileSync(join(PUBLIC, 'data', 'manifest.json'), 'utf8')));
const lines = (t: string) => t.split('\n').filter((l) => l.trim() !== '');

describe('public/data manifest', () => {
  it('every entry points at a file with the listed bytes, hash and row count', () => {
    expect(manifest.datasets.length).toBe(8);
    for (const d of manifest.datasets) {
      const buf = readFileSync(join(PUBLIC, d.file));
      expect(buf.length, d.file).toBe(d.bytes);
      expect(createHash('sha256').update(buf).digest('hex'), d.file).toBe(d.sha256);
      expect(lines(buf.toString('utf8')).length, d.file).toBe(d.rows);
      expect(d.rows, d.file).toBeLessThanOrEqual(335);
    }
  });

  it('marks exactly the two CC BY-NC sets as non-commercial', () => {
    const nc = manifest.datasets
      .filter((d) => d.nonCommercial)
      .map((d) => d.id)
      .sort();
    expect(nc).toEqual(['koalpaca-ko', 'paired-alpaca-koalpaca-en-ko']);
    for (const d of manifest.datasets) expect(d.nonCommercial).toBe(d.licence === 'CC BY-NC 4.0');
    const attribution = readFileSync(join(PUBLIC, 'data', 'ATTRIBUTION.md'), 'utf8');
    for (const d of manifest.datasets) expect(attribution).toContain(d.attribution);
  });

  it('the en–ko pair files are the full originals, byte for byte', () => {
    for (const f of ['paired_alpaca_koalpaca_en_ko.jsonl', 'paired_selfinstruct_kullm_en_ko.jsonl']) {
      const ours = readFileSync(join(PUBLIC, 'data', 'instructions', f));
      expect(ours.equals(readFileSync(shared('instructions', f))), f).toBe(true);
    }
  });

  it('slices are the stated line ranges of the shared files', () => {
    const dolly = lines(readFileSync(shared('instructions', 'en_dolly15k_subset.jsonl'), 'utf8')).slice(0, 300);
    expect(lines(readFileSync(join(PUBLIC, 'data', 'instructions', 'en_dolly15k_300.jsonl'), 'utf8'))).toEqual(dolly);
    const ko = lines(readFileSync(shared('instructions', 'ko_koalpaca_v1.0_first5000.jsonl'), 'utf8')).slice(335, 635);
    const koOurs = lines(readFileSync(join(PUBLIC, 'data', 'instructions', 'ko_koalpaca_v1.0_300.jsonl'), 'utf8'));
    expect(koOurs).toEqual(ko);
    expect((JSON.parse(koOurs[0]) as { koalpaca_index: number }).koalpaca_index).toBe(335);
    // The chatbot slice renames Q/A to instruction/output and keeps the values.
    const src = lines(readFileSync(shared('instructions', 'ko_chatbot_data_sample5000.jsonl'), 'utf8'))[0];
    const ours = lines(readFileSync(join(PUBLIC, 'data', 'instructions', 'ko_chatbot_300.jsonl'), 'utf8'))[0];
    const a = JSON.parse(src) as Record<string, string>;
    expect(JSON.parse(ours)).toEqual({ row: a.row, instruction: a.Q, output: a.A, label: a.label });
  });

  it('usable row counts agree with the parser', () => {
    for (const d of manifest.datasets) {
      if (d.kind === 'parallel') continue;
      const text = readFileSync(join(PUBLIC, d.file), 'utf8');
      const r = d.kind === 'prompts' ? englishSftRecords(text, d.file) : parseDataFile(text, d.file);
      expect(r.rows.length, d.file).toBe(d.usableRows);
      expect(r.shape, d.file).toBe(d.shape);
    }
    // The KULLM pairs have no Korean outputs, so they are not CLO training rows as they are.
    const kullm = parseDataFile(
      readFileSync(join(PUBLIC, 'data/instructions/paired_selfinstruct_kullm_en_ko.jsonl'), 'utf8'),
      'k.jsonl',
    );
    expect(kullm.rows.length).toBe(0);
    expect(kullm.errors.length).toBe(252);
  });
});

describe('large files', () => {
  // Parse speed is measured by `npm run bench`, not here; this checks 5,000-row files parse row for row.
  it('parses 5,000-row jsonl, csv and chat-template files row for row', () => {
    const dolly = readFileSync(shared('instructions', 'en_dolly15k_subset.jsonl'), 'utf8');
    const r = parseDataFile(dolly, 'dolly.jsonl');
    expect(r.rows.length).toBe(5000);

    const csv = [
      'instruction,input,output',
      ...Array.from({ length: 5000 }, (_, i) => `"Add, then stop ${i}",,"line\n${i}"`),
    ].join('\n');
    const c = parseDataFile(csv, 'big.csv');
    expect(c.rows.length).toBe(5000);

    const chat = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: `q${i}` },
          { role: 'assistant', content: `a${i}` },
        ],
      }),
    ).join('\n');
    const j = parseDataFile(chat, 'chat.jsonl', {
      chatTemplate:
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
    });
    expect(j.rows[4999]).toEqual({ kind: 'sft', prompt: '<|user|>q4999\n<|assistant|>', response: 'a4999' });
  });
});

it('public/data holds no data files the manifest does not list', () => {
  const onDisk = ['instructions', 'parallel'].flatMap((dir) =>
    readdirSync(join(PUBLIC, 'data', dir)).map((f) => `data/${dir}/${f}`),
  );
  expect(onDisk.sort()).toEqual(manifest.datasets.map((d) => d.file).sort());
});
