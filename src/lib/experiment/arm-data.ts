/**
 * An arm's training rows from its data file (recipe `data.use`, docs/experiments.md): paired
 * en/target rows become CLO quadruples as they are, SFT rows of one side or both, or preference
 * rows (target prompt; chosen = target answer, rejected = English answer).
 */
import { parseDataFile } from '../data';
import type { TrainRow } from '../data/rows';
import type { DataUse } from './recipe';

export interface ArmRows {
  rows: TrainRow[];
  /** rows of the file that parsed */
  parsed: number;
  /** rows of the file rejected by the parser (line: reason) */
  rejected: { line: number; message: string }[];
}

function fromClo(rows: TrainRow[], use: DataUse, file: string): TrainRow[] {
  if (use === 'as-is') return rows;
  return rows.flatMap((r): TrainRow[] => {
    if (r.kind !== 'clo')
      throw new Error(`${file}: data.use "${use}" needs paired en/target rows, but this file has ${r.kind} rows`);
    const tgt = { kind: 'sft' as const, prompt: r.xTgt, response: r.yTgt };
    const en = { kind: 'sft' as const, prompt: r.xEn, response: r.yEn };
    switch (use) {
      case 'target':
        return [tgt];
      case 'english':
        return [en];
      case 'both':
        return [tgt, en];
      case 'preference-target':
        return [{ kind: 'preference', prompt: r.xTgt, chosen: r.yTgt, rejected: r.yEn }];
    }
  });
}

/** Parses `text` and derives the arm's rows from the first `limit` parsed rows (all when absent). */
export function armRows(
  text: string,
  file: string,
  use: DataUse,
  limit: number | undefined,
  chatTemplate: string | null,
): ArmRows {
  const parsed = parseDataFile(text, file, { chatTemplate });
  if (parsed.rows.length === 0)
    throw new Error(
      `${file}: no usable rows${parsed.errors[0] ? ` (line ${parsed.errors[0].line}: ${parsed.errors[0].message})` : ''}`,
    );
  const first = limit === undefined ? parsed.rows : parsed.rows.slice(0, limit);
  return { rows: fromClo(first, use, file), parsed: parsed.rows.length, rejected: parsed.errors };
}

/**
 * JSONL of derived rows in the CLI's accepted shapes, so `lab train --data` trains on exactly them;
 * for continued pretraining (`pt`, which reads prompt + response as one text) a {"text"} row.
 */
export function rowsToJsonl(rows: TrainRow[], objective?: string): string {
  return (
    rows
      .map((r) => {
        switch (r.kind) {
          case 'sft':
            if (objective === 'pt') return JSON.stringify({ text: r.prompt + r.response });
            return JSON.stringify({ prompt: r.prompt, response: r.response });
          case 'preference':
            return JSON.stringify({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected });
          case 'clo':
            return JSON.stringify({ x_en: r.xEn, y_en: r.yEn, x_tgt: r.xTgt, y_tgt: r.yTgt, lang: r.lang });
        }
      })
      .join('\n') + '\n'
  );
}
