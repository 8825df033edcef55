import { describe, expect, it } from 'vitest';
import { buildComparisonTable, formatCell, isBest, tableToCsv, tableToJson } from '../../src/lib/eval/table';

const r = (f1: number) => ({ n: 10, acc: f1, macro_f1: f1 });

describe('comparison table', () => {
  const table = buildComparisonTable([
    { run: 'clo', shots: 0, results: { kobest_boolq: r(0.6), kobest_copa: r(0.5) } },
    { run: 'base', shots: 0, results: { kobest_boolq: r(0.4), kobest_copa: r(0.5), kobest_wic: r(0.3) } },
  ]);

  it('has the paper layout: KoBEST columns in order, rows run × shots', () => {
    expect(table.columns.map((c) => c.title)).toEqual(['BoolQ', 'COPA', 'HellaSwag', 'SentiNeg', 'WiC']);
    expect(table.rows.map((x) => x.run)).toEqual(['base', 'clo']);
    expect(table.rows[0].cells).toEqual([0.4, 0.5, null, null, 0.3]);
  });

  it('marks the best per column, all rows on a tie, none for an empty column', () => {
    expect(table.best).toEqual([[1], [0, 1], [], [], [0]]);
    expect(isBest(table, 1, 0)).toBe(true);
    expect(formatCell(0.5)).toBe('50.0');
    expect(formatCell(null)).toBe('');
  });

  it('adds English columns when a row has them', () => {
    const t = buildComparisonTable([{ run: 'a', shots: 5, results: { en_copa: r(0.7) } }]);
    expect(t.columns.map((c) => c.task)).toContain('en_copa');
    expect(t.columns.map((c) => c.task)).not.toContain('en_boolq');
  });

  it('exports CSV and JSON', () => {
    expect(tableToCsv(table).split('\r\n')).toEqual([
      'run,shots,kobest_boolq macro_f1,kobest_copa macro_f1,kobest_hellaswag macro_f1,kobest_sentineg macro_f1,kobest_wic macro_f1,best',
      'base,0,0.4,0.5,,,0.3,kobest_copa;kobest_wic',
      'clo,0,0.6,0.5,,,,kobest_boolq;kobest_copa',
    ]);
    const j = JSON.parse(tableToJson(table));
    expect(j.rows[1]).toEqual({
      run: 'clo',
      shots: 0,
      values: { kobest_boolq: 0.6, kobest_copa: 0.5, kobest_hellaswag: null, kobest_sentineg: null, kobest_wic: null },
      best: ['kobest_boolq', 'kobest_copa'],
    });
  });
});
