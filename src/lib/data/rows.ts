/** Training rows after parsing/normalisation (docs/cli.md "Accepted row shapes"; docs/methods.md §6). Text is final. */
export interface SftRow {
  kind: 'sft';
  prompt: string;
  response: string;
}
export interface PreferenceRow {
  kind: 'preference';
  prompt: string;
  chosen: string;
  rejected: string;
}
/** CLO quadruple: English prompt/answer and their target-language translations. */
export interface CloRow {
  kind: 'clo';
  xEn: string;
  yEn: string;
  xTgt: string;
  yTgt: string;
  lang: string;
}
export type TrainRow = SftRow | PreferenceRow | CloRow;
export type RowKind = TrainRow['kind'];

/** A rejected input row: 1-based line (JSONL/CSV line, or array index + 1 for JSON) and why. */
export interface RowError {
  line: number;
  message: string;
}

export interface ParseResult<R> {
  rows: R[];
  errors: RowError[];
  /** total rows seen (accepted + rejected) */
  total: number;
}

/**
 * Training rows read on demand: a large file indexed but not held in memory (cli/data-source.ts), or
 * an array (rowSource). The trainer tokenizes lazily above a size (train/train-items.ts).
 */
export interface RowSource {
  readonly length: number;
  /** characters (or bytes) of row text over all rows, about: decides eager or lazy tokenization */
  readonly chars: number;
  get(i: number): TrainRow;
}

/** Characters of text in one row. */
export function rowChars(row: TrainRow): number {
  switch (row.kind) {
    case 'sft':
      return row.prompt.length + row.response.length;
    case 'preference':
      return row.prompt.length + row.chosen.length + row.rejected.length;
    case 'clo':
      return row.xEn.length + row.yEn.length + row.xTgt.length + row.yTgt.length;
  }
}

/** An array of rows as a RowSource (a RowSource is returned as it is). */
export function rowSource(rows: TrainRow[] | RowSource): RowSource {
  if (!Array.isArray(rows)) return rows;
  let chars = 0;
  for (const r of rows) chars += rowChars(r) || 0; // a row of another shape counts 0; the trainer reports it
  return { length: rows.length, chars, get: (i) => rows[i] };
}
