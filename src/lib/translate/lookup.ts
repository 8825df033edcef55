/**
 * A translator that looks texts up in a table (parallel corpus, manual import).
 * Exact match first, then a match after whitespace normalisation; a miss is a `missing` error
 * naming the text's position in the batch.
 */
import { normalizeWhitespace } from './normalize';
import { TranslateError, type TranslateOptions, type Translator } from './types';

export class LookupTable {
  private readonly exact = new Map<string, string>();
  private readonly loose = new Map<string, string>();

  /** Adds a pair; the first translation seen for a text wins (later duplicates are ignored). */
  add(source: string, target: string): void {
    if (!this.exact.has(source)) this.exact.set(source, target);
    const key = normalizeWhitespace(source);
    if (key !== '' && !this.loose.has(key)) this.loose.set(key, target);
  }

  get size(): number {
    return this.exact.size;
  }

  find(text: string): string | undefined {
    return this.exact.get(text) ?? this.loose.get(normalizeWhitespace(text));
  }
}

export class LookupTranslator implements Translator {
  constructor(
    readonly id: string,
    readonly table: LookupTable,
    /** languages the table translates from and to; other pairs are `unavailable` */
    private readonly source: string,
    private readonly target: string,
  ) {}

  async translate(texts: string[], source: string, target: string, opts?: TranslateOptions): Promise<string[]> {
    if (opts?.signal?.aborted)
      throw new TranslateError({ translatorId: this.id, kind: 'aborted', message: 'cancelled' });
    if (source !== this.source || target !== this.target) {
      throw new TranslateError({
        translatorId: this.id,
        kind: 'unavailable',
        message: `this table translates ${this.source}→${this.target}, not ${source}→${target}`,
      });
    }
    return texts.map((text, textIndex) => {
      const hit = this.table.find(text);
      if (hit === undefined) {
        throw new TranslateError({
          translatorId: this.id,
          kind: 'missing',
          message: `no entry for "${preview(text)}"`,
          textIndex,
        });
      }
      return hit;
    });
  }
}

function preview(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

/** How much of a job a lookup table can translate (checked before running it). */
export interface LookupCoverage {
  records: number;
  /** records whose every non-empty part (or whose joint text) is in the table */
  covered: number;
  /** records with some but not all parts in the table */
  partial: number;
  /** non-empty parts in the table / non-empty parts in all */
  partsFound: number;
  partsTotal: number;
}

/**
 * Coverage of `records` (each a list of parts) by `table`: a record is covered when all its
 * non-empty parts are in it (the fallback path) or when `jointText(parts)` is.
 */
export function lookupCoverage(
  records: readonly (readonly string[])[],
  table: LookupTable,
  jointText?: (parts: readonly string[]) => string | null,
): LookupCoverage {
  const c: LookupCoverage = { records: records.length, covered: 0, partial: 0, partsFound: 0, partsTotal: 0 };
  for (const parts of records) {
    const sent = parts.filter((p) => p.trim() !== '');
    const found = sent.filter((p) => table.find(p) !== undefined).length;
    c.partsTotal += sent.length;
    c.partsFound += found;
    const joint = jointText?.(parts);
    if (found === sent.length || (joint != null && table.find(joint) !== undefined)) c.covered++;
    else if (found > 0) c.partial++;
  }
  return c;
}
