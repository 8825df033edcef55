/**
 * Parallel-corpus translator: exact (then whitespace-normalised) lookup in a paired file.
 *
 * Accepted rows (JSONL, JSON array or CSV; see data/parse.ts):
 * - sentence pairs `{<src>: "...", <tgt>: "..."}`, e.g. `{en, ko}` (shared/data/parallel/*.jsonl);
 * - instruction pairs `{<src>_<field>: "...", <tgt>_<field>: "..."}` for every field present on both
 *   sides, e.g. `en_instruction`/`ko_instruction`, `en_input`/`ko_input`, `en_output`/`ko_output`
 *   (shared/data/instructions/paired_*.jsonl). A null or missing target side is skipped.
 */
import { parseRecords } from '../data/parse';
import { LookupTable, LookupTranslator } from './lookup';

export interface ParallelLoad {
  translator: LookupTranslator;
  /** pairs added to the table */
  pairs: number;
  /** rows that gave no pair at all, and unreadable rows: `line: why` */
  skipped: string[];
}

export function pairsFromRecord(value: unknown, source: string, target: string): [string, string][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const rec = value as Record<string, unknown>;
  const out: [string, string][] = [];
  const s = rec[source];
  const t = rec[target];
  if (typeof s === 'string' && typeof t === 'string') out.push([s, t]);
  const prefix = `${source}_`;
  for (const key of Object.keys(rec)) {
    if (!key.startsWith(prefix)) continue;
    const field = key.slice(prefix.length);
    const sv = rec[key];
    const tv = rec[`${target}_${field}`];
    if (typeof sv === 'string' && typeof tv === 'string' && sv.trim() !== '') out.push([sv, tv]);
  }
  return out;
}

/** Builds a lookup table from the text of a paired file. Throws when the file yields no pair. */
export function parallelTranslatorFromText(
  text: string,
  fileName: string,
  source: string,
  target: string,
): ParallelLoad {
  const raw = parseRecords(text, fileName);
  if (raw.fileError) throw new Error(`${fileName}: ${raw.fileError}`);
  const table = new LookupTable();
  const skipped = raw.errors.map((e) => `${fileName}:${e.line}: ${e.message}`);
  let pairs = 0;
  for (const rec of raw.records) {
    const found = pairsFromRecord(rec.value, source, target);
    if (found.length === 0) skipped.push(`${fileName}:${rec.line}: no "${source}"/"${target}" pair`);
    for (const [s, t] of found) {
      table.add(s, t);
      pairs++;
    }
  }
  if (pairs === 0)
    throw new Error(
      `${fileName}: no ${source}→${target} pairs found (expected fields "${source}"/"${target}" or "${source}_*"/"${target}_*")`,
    );
  const name = fileName.split(/[\\/]/).pop() ?? fileName;
  return { translator: new LookupTranslator(`parallel:${name}`, table, source, target), pairs, skipped };
}
