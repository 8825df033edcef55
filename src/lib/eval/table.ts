/**
 * Comparison table in the source paper's layout: rows = model/run × k shots; columns = BoolQ, COPA,
 * HellaSwag, SentiNeg, WiC (macro-F1 by default), then the English tasks when any row has them.
 * The best value of each column is marked (all rows on a tie).
 */
import Papa from 'papaparse';
import { ENGLISH_TASKS, KOBEST_TASKS, type EvalTask } from './tasks';

export type TableMetric = 'macro_f1' | 'acc' | 'acc_norm';

/** The part of a task result the table needs. */
export interface TaskScore {
  n: number;
  acc: number;
  macro_f1: number;
  acc_norm?: number;
}

export interface TableEntry {
  /** model or run label, e.g. 'stories260K' or 'clo-run-3' */
  run: string;
  shots: number;
  results: Record<string, TaskScore>;
}

export interface TableColumn {
  task: string;
  title: string;
  lang: 'ko' | 'en';
}

export interface TableRow {
  run: string;
  shots: number;
  cells: (number | null)[];
}

export interface ComparisonTable {
  metric: TableMetric;
  columns: TableColumn[];
  rows: TableRow[];
  /** best[c] = row indices holding column c's best value */
  best: number[][];
}

function metricOf(s: TaskScore | undefined, metric: TableMetric): number | null {
  if (!s) return null;
  const v = metric === 'acc_norm' ? s.acc_norm : s[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function buildComparisonTable(
  entries: TableEntry[],
  metric: TableMetric = 'macro_f1',
  tasks?: EvalTask[],
): ComparisonTable {
  const present = (t: EvalTask) => entries.some((e) => e.results[t.name] !== undefined);
  const chosen = tasks ?? [...KOBEST_TASKS, ...ENGLISH_TASKS.filter(present)];
  const columns: TableColumn[] = chosen.map((t) => ({
    task: t.name,
    title: t.lang === 'en' ? `${t.title} (en)` : t.title,
    lang: t.lang,
  }));
  const rows: TableRow[] = [...entries]
    .sort((a, b) => a.run.localeCompare(b.run) || a.shots - b.shots)
    .map((e) => ({ run: e.run, shots: e.shots, cells: columns.map((c) => metricOf(e.results[c.task], metric)) }));
  const best = columns.map((_, c) => {
    let max = -Infinity;
    for (const r of rows) {
      const v = r.cells[c];
      if (v !== null && v > max) max = v;
    }
    if (max === -Infinity) return [];
    return rows.flatMap((r, i) => (r.cells[c] === max ? [i] : []));
  });
  return { metric, columns, rows, best };
}

export function isBest(table: ComparisonTable, row: number, col: number): boolean {
  return table.best[col].includes(row);
}

/** Percent with one decimal, or '' for a missing cell. */
export function formatCell(v: number | null): string {
  return v === null ? '' : (100 * v).toFixed(1);
}

/** CSV: run, shots, one column per task (values in [0, 1], full precision), then `best`: the tasks where this row is best. */
export function tableToCsv(table: ComparisonTable): string {
  const header = ['run', 'shots', ...table.columns.map((c) => `${c.task} ${table.metric}`), 'best'];
  const data = table.rows.map((r, i) => [
    r.run,
    String(r.shots),
    ...r.cells.map((v) => (v === null ? '' : String(v))),
    table.columns
      .filter((_, c) => isBest(table, i, c))
      .map((c) => c.task)
      .join(';'),
  ]);
  return Papa.unparse({ fields: header, data });
}

export function tableToJson(table: ComparisonTable): string {
  return JSON.stringify(
    {
      metric: table.metric,
      columns: table.columns,
      rows: table.rows.map((r, i) => ({
        run: r.run,
        shots: r.shots,
        values: Object.fromEntries(table.columns.map((c, j) => [c.task, r.cells[j]])),
        best: table.columns.filter((_, j) => isBest(table, i, j)).map((c) => c.task),
      })),
    },
    null,
    2,
  );
}
