/**
 * Manual round trip: export the texts that still need a translation as JSONL `{id, text}`, let a
 * person (or any outside tool) translate them, import the file back as `{id, text}` and use it as
 * a lookup table. The id is a hash of the source text, so an import matches the texts it was made
 * from, in any order, and partial imports work (the rest stays missing).
 */
import { parseRecords } from '../data/parse';
import { textHash } from './hash';
import { LookupTable, LookupTranslator } from './lookup';

export interface ManualItem {
  id: string;
  text: string;
}

/** One item per distinct text (empty texts left out), in first-seen order. */
export async function manualExportItems(texts: string[]): Promise<ManualItem[]> {
  const seen = new Set<string>();
  const out: ManualItem[] = [];
  for (const text of texts) {
    if (text.trim() === '') continue;
    const id = await textHash(text);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, text });
  }
  return out;
}

export function manualExportJsonl(items: ManualItem[]): string {
  return items.map((it) => JSON.stringify({ id: it.id, text: it.text })).join('\n') + (items.length ? '\n' : '');
}

export interface ManualImport {
  translator: LookupTranslator;
  /** translations matched to exported texts */
  matched: number;
  /** problems, one line each: `file:line: why` */
  problems: string[];
}

/**
 * Reads a translated file `{id, text}` against the exported items: each id must be one that was
 * exported; unknown ids and rows without a string text are reported, not used.
 */
export function manualImport(
  exported: ManualItem[],
  translatedText: string,
  fileName: string,
  source: string,
  target: string,
): ManualImport {
  const byId = new Map(exported.map((it) => [it.id, it.text]));
  const raw = parseRecords(translatedText, fileName);
  if (raw.fileError) throw new Error(`${fileName}: ${raw.fileError}`);
  const problems = raw.errors.map((e) => `${fileName}:${e.line}: ${e.message}`);
  const table = new LookupTable();
  let matched = 0;
  for (const rec of raw.records) {
    const v = rec.value as { id?: unknown; text?: unknown } | null;
    if (typeof v !== 'object' || v === null || typeof v.id !== 'string' || typeof v.text !== 'string') {
      problems.push(`${fileName}:${rec.line}: expected {"id": string, "text": string}`);
      continue;
    }
    const original = byId.get(v.id);
    if (original === undefined) {
      problems.push(`${fileName}:${rec.line}: id "${v.id}" was not in the export`);
      continue;
    }
    table.add(original, v.text);
    matched++;
  }
  return { translator: new LookupTranslator('manual', table, source, target), matched, problems };
}
