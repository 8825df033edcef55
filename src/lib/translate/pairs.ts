/**
 * English SFT records → CLO quadruples {x_en, y_en, x_tgt, y_tgt, lang} (docs/methods.md §2 CLO, §6, §7).
 * x = Alpaca prompt of instruction/input (data/template.ts), y = output; the target side is the
 * translation of the same three parts. Failed records are left out of the pairs.
 */
import { cloRowFromParts, type InstructionParts } from '../data';
import type { CloRow } from '../data/rows';
import type { JobRecord, RecordResult } from './job';

/** The parts a record is translated as, in indicator order: [1] instruction, [2] input, [3] output. */
export function jobRecordOf(parts: InstructionParts): JobRecord {
  return { parts: [parts.instruction, parts.input, parts.output] };
}

export interface CloPair {
  /** index of the English record */
  index: number;
  row: CloRow;
  provenance: 'joint' | 'fallback';
}

export function cloPairs(
  english: readonly InstructionParts[],
  results: readonly (RecordResult | undefined)[],
  lang: string,
): CloPair[] {
  const out: CloPair[] = [];
  english.forEach((en, index) => {
    const r = results[index];
    if (!r || r.provenance === 'failed' || !r.parts) return;
    const [instruction, input, output] = r.parts;
    out.push({ index, provenance: r.provenance, row: cloRowFromParts(en, { instruction, input, output }, lang) });
  });
  return out;
}

/** The JSONL row shape of docs/cli.md: `{x_en, y_en, x_tgt, y_tgt, lang}`. */
export interface CloJson {
  x_en: string;
  y_en: string;
  x_tgt: string;
  y_tgt: string;
  lang: string;
}

export function cloJson(row: CloRow): CloJson {
  return { x_en: row.xEn, y_en: row.yEn, x_tgt: row.xTgt, y_tgt: row.yTgt, lang: row.lang };
}

export function pairsJsonl(rows: readonly CloRow[]): string {
  return rows.map((r) => JSON.stringify(cloJson(r))).join('\n') + (rows.length ? '\n' : '');
}
