/**
 * Corpus text for vocabulary learning, continued pretraining and held-out measurement: a plain text
 * file (one text per non-empty line) or JSONL/JSON rows (a named column, or else every string
 * field that contains Hangul, e.g. ko_instruction / ko_output / ko).
 */
import { hasHangul } from './learn';

/** Bundled Korean text used to learn tokens (public/data, see manifest.json). */
export const DEFAULT_CORPUS_FILES = [
  'data/instructions/ko_koalpaca_v1.0_300.jsonl',
  'data/instructions/ko_chatbot_300.jsonl',
  'data/instructions/paired_alpaca_koalpaca_en_ko.jsonl',
  'data/parallel/jhe_en_ko_300.jsonl',
  'data/parallel/news_v1_en_ko_300.jsonl',
];
/** Held-out Korean text (never used to learn tokens): the KULLM translations of Self-Instruct. */
export const HELDOUT_FILES = ['data/instructions/paired_selfinstruct_kullm_en_ko.jsonl'];

export function corpusTexts(content: string, fileName: string, opts: { column?: string } = {}): string[] {
  const lines = content.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new Error(`${fileName}: empty corpus`);
  const pick = (row: unknown, where: string): string[] => {
    if (!row || typeof row !== 'object' || Array.isArray(row)) return [];
    const o = row as Record<string, unknown>;
    if (opts.column) {
      const v = o[opts.column];
      if (v === undefined) throw new Error(`${fileName}: ${where} has no "${opts.column}" column`);
      return typeof v === 'string' && v.trim() ? [v] : [];
    }
    if (typeof o.text === 'string') return o.text.trim() ? [o.text] : [];
    return Object.values(o).filter((v): v is string => typeof v === 'string' && hasHangul(v));
  };
  const first = lines[0].trimStart();
  if (first.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(content);
    } catch (e) {
      throw new Error(`${fileName}: invalid JSON (${(e as Error).message})`, { cause: e });
    }
    if (!Array.isArray(arr)) throw new Error(`${fileName}: expected a JSON array of rows`);
    return arr.flatMap((r, i) => pick(r, `row ${i + 1}`));
  }
  if (first.startsWith('{')) {
    const out: string[] = [];
    lines.forEach((l, i) => {
      let row: unknown;
      try {
        row = JSON.parse(l);
      } catch (e) {
        throw new Error(`${fileName}: line ${i + 1}: invalid JSON (${(e as Error).message})`, { cause: e });
      }
      out.push(...pick(row, `line ${i + 1}`));
    });
    if (out.length === 0)
      throw new Error(
        `${fileName}: no text found${opts.column ? ` in column "${opts.column}"` : ' (no "text" field and no string field with Hangul)'}`,
      );
    return out;
  }
  if (opts.column) throw new Error(`${fileName}: --column needs JSON/JSONL rows, this is plain text`);
  return lines;
}
