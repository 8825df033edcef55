import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parallelTranslatorFromText } from '../../src/lib/translate/parallel';
import { manualExportItems, manualExportJsonl, manualImport } from '../../src/lib/translate/manual';
import { PairJob } from '../../src/lib/translate/job';
import { cloPairs, jobRecordOf, pairsJsonl } from '../../src/lib/translate/pairs';
import { TranslateError } from '../../src/lib/translate/types';
import { englishSftRecords } from '../../src/lib/data';
import { FakeTranslator } from '../helpers/fake-translator';
import { requireShared } from '../helpers/helpers';

const SENTENCES = [
  JSON.stringify({ id: 's1', en: 'The cat sleeps.', ko: '고양이가 잔다.' }),
  JSON.stringify({ id: 's2', en: 'The  dog\nruns. ', ko: '개가 달린다.' }),
  'not json',
  JSON.stringify({ id: 's3', fr: 'Le chat.' }),
].join('\n');

describe('parallel translator', () => {
  const load = parallelTranslatorFromText(SENTENCES, 'dir/pairs.jsonl', 'en', 'ko');

  it('loads pairs and reports unusable rows by line', () => {
    expect(load.pairs).toBe(2);
    expect(load.translator.id).toBe('parallel:pairs.jsonl');
    expect(load.skipped).toEqual([
      'dir/pairs.jsonl:3: invalid JSON (' + load.skipped[0].split('invalid JSON (')[1],
      'dir/pairs.jsonl:4: no "en"/"ko" pair',
    ]);
  });

  it('matches exactly, then after whitespace normalisation', async () => {
    expect(
      await load.translator.translate(['The cat sleeps.', 'The dog runs.', '  The cat\tsleeps.'], 'en', 'ko'),
    ).toEqual(['고양이가 잔다.', '개가 달린다.', '고양이가 잔다.']);
  });

  it('a miss is a `missing` error for that text', async () => {
    const err = await load.translator
      .translate(['The cat sleeps.', 'A bird sings.'], 'en', 'ko')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TranslateError);
    expect(err).toMatchObject({ kind: 'missing', textIndex: 1, translatorId: 'parallel:pairs.jsonl' });
    expect((err as Error).message).toContain('no entry for "A bird sings."');
    const other = await load.translator.translate(['The cat sleeps.'], 'en', 'ja').catch((e: unknown) => e);
    expect(other).toMatchObject({ kind: 'unavailable' });
  });

  it('a file without pairs is an error naming the file', () => {
    expect(() => parallelTranslatorFromText('{"a": 1}\n', 'x.jsonl', 'en', 'ko')).toThrow(
      'x.jsonl: no en→ko pairs found',
    );
  });

  it('reads the shared sentence corpus and the instruction pair files', async () => {
    const jhe = parallelTranslatorFromText(
      readFileSync(requireShared('data/parallel/jhe_en_ko.jsonl'), 'utf8'),
      'jhe_en_ko.jsonl',
      'en',
      'ko',
    );
    expect(jhe.pairs).toBe(1440);
    // second row of the file (jhe-dev-1), copied by hand
    expect(
      await jhe.translator.translate(
        ['In the Middle Ages, cities were not very clean, and the streets were filled with garbage.'],
        'en',
        'ko',
      ),
    ).toEqual(['중세에 도시들은 그리 깨끗하지 않았고 거리는 오물로 가득 차 있었다.']);
    const alpaca = parallelTranslatorFromText(
      readFileSync(requireShared('data/instructions/paired_alpaca_koalpaca_en_ko.jsonl'), 'utf8'),
      'paired_alpaca_koalpaca_en_ko.jsonl',
      'en',
      'ko',
    );
    expect(await alpaca.translator.translate(['Give three tips for staying healthy.'], 'en', 'ko')).toEqual([
      '건강을 유지하기 위한 세 가지 팁을 알려주세요.',
    ]);
  });
});

describe('manual round trip', () => {
  it('exports distinct non-empty texts with hash ids and imports a translated file as a lookup', async () => {
    const items = await manualExportItems(['Name a cat.', '', 'The cat sleeps.', 'Name a cat.']);
    // ids: sha256 hex from python3 hashlib
    expect(items).toEqual([
      { id: 'be6d41cbc80f1d74dfa19f8b7fb5b14e408a5d762b420a44a771767712e04874', text: 'Name a cat.' },
      { id: 'f6d023669bad4e4b418d158f09223cd3e57d1069915b159be77ae3dc63d4e118', text: 'The cat sleeps.' },
    ]);
    expect(manualExportJsonl(items).split('\n')[0]).toBe(
      '{"id":"be6d41cbc80f1d74dfa19f8b7fb5b14e408a5d762b420a44a771767712e04874","text":"Name a cat."}',
    );
    const back = [
      JSON.stringify({ id: items[1].id, text: '고양이가 잔다.' }),
      JSON.stringify({ id: 'nope', text: 'x' }),
      JSON.stringify({ id: items[0].id }),
    ].join('\n');
    const imp = manualImport(items, back, 'back.jsonl', 'en', 'ko');
    expect(imp.matched).toBe(1);
    expect(imp.problems).toEqual([
      'back.jsonl:2: id "nope" was not in the export',
      'back.jsonl:3: expected {"id": string, "text": string}',
    ]);
    expect(await imp.translator.translate(['The cat sleeps.'], 'en', 'ko')).toEqual(['고양이가 잔다.']);
    await expect(imp.translator.translate(['Name a cat.'], 'en', 'ko')).rejects.toMatchObject({ kind: 'missing' });
  });
});

describe('pairs', () => {
  it('English Alpaca rows → CLO quadruples with the Alpaca template on both sides', async () => {
    const text = [
      JSON.stringify({ instruction: 'Name a cat.', input: '', output: 'The cat sleeps.' }),
      JSON.stringify({
        instruction: 'Write a poem about rain.',
        input: 'The rain falls.',
        output: 'Rain falls and the dog runs.',
      }),
    ].join('\n');
    const english = englishSftRecords(text, 'en.jsonl');
    expect(english.errors).toEqual([]);
    const job = new PairJob(english.rows.map(jobRecordOf), {
      translator: new FakeTranslator(),
      source: 'en',
      target: 'ko',
    });
    await job.run();
    const pairs = cloPairs(english.rows, job.results, 'ko');
    expect(pairs.map((p) => p.provenance)).toEqual(['joint', 'joint']);
    const lines = pairsJsonl(pairs.map((p) => p.row))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        x_en: '### Instruction:\nName a cat.\n\n### Response:\n',
        y_en: 'The cat sleeps.',
        x_tgt: '### Instruction:\n이름 한 고양이.\n\n### Response:\n',
        y_tgt: '그 고양이 잔다.',
        lang: 'ko',
      },
      {
        x_en: '### Instruction:\nWrite a poem about rain.\n\n### Input:\nThe rain falls.\n\n### Response:\n',
        y_en: 'Rain falls and the dog runs.',
        x_tgt: '### Instruction:\n써라 한 시 대해 비.\n\n### Input:\n그 비 내린다.\n\n### Response:\n',
        y_tgt: '비 내린다 그리고 그 개 달린다.',
        lang: 'ko',
      },
    ]);
  });

  it('failed records are left out of the pairs', () => {
    const en = [
      { instruction: 'a', input: '', output: 'b' },
      { instruction: 'c', input: '', output: 'd' },
    ];
    const pairs = cloPairs(
      en,
      [
        { provenance: 'failed', parts: null },
        { provenance: 'fallback', parts: ['가', '', '나'] },
      ],
      'ko',
    );
    expect(pairs.map((p) => [p.index, p.row.yTgt])).toEqual([[1, '나']]);
  });
});
