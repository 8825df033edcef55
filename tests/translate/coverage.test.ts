/**
 * Lookup coverage (which corpus/data combinations can work before a job runs) and the
 * what-to-do-next hints. The bundled-data case reads public/data (in the repository).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LookupTable, lookupCoverage } from '../../src/lib/translate/lookup';
import { parallelTranslatorFromText } from '../../src/lib/translate/parallel';
import { jobRecordOf } from '../../src/lib/translate/pairs';
import { serializeParts, DEFAULT_MULTI } from '../../src/lib/translate/multicomponent';
import { whatNext } from '../../src/lib/translate/hints';
import { englishSftRecords } from '../../src/lib/data';
import { ROOT } from '../helpers/helpers';

describe('lookupCoverage', () => {
  const table = new LookupTable();
  table.add('Name a cat.', '고양이 이름.');
  table.add('The cat sleeps.', '고양이가 잔다.');
  table.add('Name a dog.', '개 이름.');

  it('counts records with every non-empty part found, partial records and parts', () => {
    const c = lookupCoverage(
      [
        ['Name a cat.', '', 'The cat sleeps.'], // covered (empty input is not sent)
        ['Name a dog.', '', 'The dog runs.'], // partial
        ['Write a poem.', '', 'Rain.'], // none
      ],
      table,
    );
    expect(c).toEqual({ records: 3, covered: 1, partial: 1, partsFound: 3, partsTotal: 6 });
  });

  it('a record whose joint text is in the table is covered', () => {
    const parts = ['Name a dog.', '', 'The dog runs.'];
    const joint = serializeParts(parts, DEFAULT_MULTI) as string;
    const t = new LookupTable();
    t.add(joint, '번역');
    expect(lookupCoverage([parts], t, (p) => serializeParts(p, DEFAULT_MULTI)).covered).toBe(1);
    expect(lookupCoverage([parts], t).covered).toBe(0);
  });

  it('bundled: sentence corpora cover none of the English instruction records', () => {
    const read = (f: string) => readFileSync(resolve(ROOT, 'public/data', f), 'utf8');
    const english = englishSftRecords(read('instructions/en_self_instruct_300.jsonl'), 'en_self_instruct_300.jsonl');
    const records = english.rows.slice(0, 50).map((r) => jobRecordOf(r).parts);
    const jhe = parallelTranslatorFromText(read('parallel/jhe_en_ko_300.jsonl'), 'jhe.jsonl', 'en', 'ko');
    const c = lookupCoverage(records, jhe.translator.table);
    expect(c.records).toBe(50);
    expect(c.covered).toBe(0);
    expect(c.partsFound).toBe(0);
  });
});

describe('whatNext', () => {
  it('tells what to do for an offline built-in translator and an unreachable server', () => {
    expect(whatNext('browser', 'timeout', 'ko')).toMatch(/language pack.*offline.*parallel-corpus lookup/);
    expect(whatNext('libretranslate', 'unreachable')).toContain('CORS');
    expect(whatNext('parallel', 'missing')).toContain('word for word');
    expect(whatNext('parallel', 'http')).toMatch(/^Try again/);
  });
});
