/**
 * A fingerprint of training rows: the same rows in the same order give the same string wherever they
 * were parsed (the page's data store, the CLI's streamed file), so a checkpoint names the data it was
 * trained on and a resume elsewhere can refuse other data. Not a cryptographic hash: two FNV-1a 32-bit
 * hashes with different offsets over each row's fields in a fixed order, and the row count.
 */
import type { RowSource, TrainRow } from './rows';

const FNV_PRIME = 0x01000193;

export function dataFingerprint(rows: TrainRow[] | RowSource): string {
  const n = rows.length;
  const get = Array.isArray(rows) ? (i: number) => rows[i] : (i: number) => (rows as RowSource).get(i);
  let a = 0x811c9dc5;
  let b = 0x1b873593;
  const feed = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, FNV_PRIME);
      b = Math.imul(b ^ c, FNV_PRIME) ^ (b >>> 15);
    }
    // a separator no text contains, so field boundaries count
    a = Math.imul(a ^ 0xffff, FNV_PRIME);
    b = Math.imul(b ^ 0xffff, FNV_PRIME);
  };
  for (let i = 0; i < n; i++) {
    const r = get(i) as unknown as Record<string, unknown>;
    for (const k of Object.keys(r).sort()) {
      feed(k);
      feed(String(r[k]));
    }
  }
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return `rows${n}-${hex(a)}${hex(b)}`;
}
