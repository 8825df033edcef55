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
