/**
 * Rows → training items (lists of token sequences sampled together), for the Trainer.
 *
 * Two ways, chosen by the amount of text (or forced by the caller):
 * - eager (up to EAGER_MAX_CHARS characters): every row is tokenized before step 1; rows the
 *   objective cannot use (wrong kind, response too long, empty) are dropped and listed, and the
 *   sampler draws from the usable items only (a `pt` text row gives one item per window).
 * - lazy (more text than that): the sampler draws from the rows themselves and a row is tokenized
 *   when a batch needs it, through a cache bounded in token ids. A row found unusable is listed once
 *   and its draw goes to the next usable row of the file (row i+1, i+2, ... wrapping); a `pt` row
 *   of several windows gives, in epoch e, its window e mod (windows).
 * With every row usable (and one window per `pt` row) both ways give the same items in the same
 * order, so the same batches for the same seed (tests/train/lazy-tokenize.test.ts).
 */
import type { RowError, RowSource, TrainRow } from '../data/rows';
import { rowSource } from '../data/rows';
import { tokenizePair, type TokenizedSeq } from '../model/batch';
import type { Objective } from '../objectives/types';
import type { Tokenizer } from '../tokenizer/types';

/** Above this many characters of row text, rows are tokenized as batches need them. */
export const EAGER_MAX_CHARS = 4_000_000;
/** The lazy path's cache of tokenized rows holds at most this many token ids. */
export const LAZY_CACHE_IDS = 1 << 22;

export type TokenizeMode = 'eager' | 'lazy' | 'auto';

/** The items one row contributes; throws (with the reason) when the objective cannot use the row. */
function rowItems(objective: Objective, tok: Tokenizer, row: TrainRow, maxLen: number): TokenizedSeq[][] {
  if (!objective.accepts.includes(row.kind))
    throw new Error(`a ${row.kind} row cannot train ${objective.name.toUpperCase()}`);
  if (objective.tokenize) return objective.tokenize(tok, row, maxLen);
  return [objective.sequences(row).map((p) => tokenizePair(tok, p.prompt, p.response, maxLen, true))];
}

export interface TrainItems {
  readonly lazy: boolean;
  /** what the sampler draws from: usable items (eager) or rows (lazy) */
  readonly count: number;
  /** rows left out (1-based row numbers); in the lazy path, those met so far */
  readonly skipped: RowError[];
  /** usable items (eager); rows not found unusable so far (lazy) */
  readonly usable: number;
  /** the sequences of drawn item `index`, at sampler position `pos` (its epoch is pos / count) */
  seqs(index: number, pos: number): TokenizedSeq[];
}

function noUsableRows(objective: Objective, skipped: RowError[]): Error {
  return new Error(
    `no usable rows for ${objective.name}: ${skipped.length} skipped` +
      (skipped[0] ? ` (row ${skipped[0].line}: ${skipped[0].message})` : ''),
  );
}

class EagerItems implements TrainItems {
  readonly lazy = false;
  readonly skipped: RowError[] = [];
  private readonly items: TokenizedSeq[][] = [];
  constructor(objective: Objective, tok: Tokenizer, rows: RowSource, maxLen: number) {
    for (let i = 0; i < rows.length; i++) {
      try {
        this.items.push(...rowItems(objective, tok, rows.get(i), maxLen));
      } catch (e) {
        this.skipped.push({ line: i + 1, message: (e as Error).message });
      }
    }
    if (this.items.length === 0) throw noUsableRows(objective, this.skipped);
  }
  get count(): number {
    return this.items.length;
  }
  get usable(): number {
    return this.items.length;
  }
  seqs(index: number): TokenizedSeq[] {
    return this.items[index];
  }
}

class LazyItems implements TrainItems {
  readonly lazy = true;
  readonly skipped: RowError[] = [];
  private readonly bad = new Set<number>();
  /** row → its items, least recently used first */
  private readonly cache = new Map<number, TokenizedSeq[][]>();
  private cachedIds = 0;
  constructor(
    private readonly objective: Objective,
    private readonly tok: Tokenizer,
    private readonly rows: RowSource,
    private readonly maxLen: number,
    private readonly cacheIds = LAZY_CACHE_IDS,
  ) {
    if (rows.length === 0) throw noUsableRows(objective, []);
  }
  get count(): number {
    return this.rows.length;
  }
  get usable(): number {
    return this.rows.length - this.bad.size;
  }
  /** what the cache of tokenized rows holds (tests) */
  get cacheUse(): { rows: number; ids: number } {
    return { rows: this.cache.size, ids: this.cachedIds };
  }

  private itemsOf(r: number): TokenizedSeq[][] | null {
    const hit = this.cache.get(r);
    if (hit) {
      this.cache.delete(r);
      this.cache.set(r, hit);
      return hit;
    }
    if (this.bad.has(r)) return null;
    let items: TokenizedSeq[][];
    try {
      items = rowItems(this.objective, this.tok, this.rows.get(r), this.maxLen);
      if (items.length === 0) throw new Error('no tokens');
    } catch (e) {
      this.bad.add(r);
      this.skipped.push({ line: r + 1, message: (e as Error).message });
      return null;
    }
    const ids = items.reduce((s, it) => s + it.reduce((t, q) => t + q.ids.length, 0), 0);
    this.cache.set(r, items);
    this.cachedIds += ids;
    for (const [k, v] of this.cache) {
      if (this.cachedIds <= this.cacheIds || this.cache.size <= 1) break;
      this.cache.delete(k);
      this.cachedIds -= v.reduce((s, it) => s + it.reduce((t, q) => t + q.ids.length, 0), 0);
    }
    return items;
  }

  seqs(index: number, pos: number): TokenizedSeq[] {
    const n = this.rows.length;
    const epoch = Math.floor(pos / n);
    for (let k = 0; k < n; k++) {
      const items = this.itemsOf((index + k) % n);
      if (items) return items[epoch % items.length];
    }
    throw noUsableRows(this.objective, this.skipped);
  }
}

/** The items of `rows` for `objective`, eager or lazy (`mode`; 'auto' decides by the amount of text). */
export function trainItems(
  objective: Objective,
  tok: Tokenizer,
  rows: TrainRow[] | RowSource,
  maxLen: number,
  mode: TokenizeMode = 'auto',
  cacheIds?: number,
): TrainItems {
  const src = rowSource(rows);
  const lazy = mode === 'lazy' || (mode === 'auto' && src.chars > EAGER_MAX_CHARS);
  return lazy ? new LazyItems(objective, tok, src, maxLen, cacheIds) : new EagerItems(objective, tok, src, maxLen);
}
