/**
 * Field checks that turn a bad record into one readable reason, and the rule that picks a file's
 * shape when its records disagree.
 *
 * Reasons name the field, e.g. `missing field "output"`, `field "output" is empty`,
 * `field "output" must be a string, got number`.
 */

/** Thrown by the field readers; caught per record and turned into a RowError. */
export class RowProblem extends Error {}

export type JsonObject = Record<string, unknown>;

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A required, non-blank string field. */
export function requiredString(rec: JsonObject, key: string, why = ''): string {
  if (!(key in rec) || rec[key] === undefined) throw new RowProblem(`missing field "${key}"${why}`);
  const v = rec[key];
  if (v === null) throw new RowProblem(`field "${key}" is null${why}`);
  if (typeof v !== 'string') throw new RowProblem(`field "${key}" must be a string, got ${describeType(v)}`);
  if (v.trim() === '') throw new RowProblem(`field "${key}" is empty${why}`);
  return v;
}

/** An optional string field: missing, null or "" give ""; any other non-string is a problem. */
export function optionalString(rec: JsonObject, key: string): string {
  const v = rec[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new RowProblem(`field "${key}" must be a string, got ${describeType(v)}`);
  return v;
}

/** The first of `keys` present in the record (for aliases such as output/response), else the first key. */
export function firstPresent(rec: JsonObject, keys: string[]): string {
  for (const k of keys) if (k in rec && rec[k] !== undefined) return k;
  return keys[0];
}

/**
 * The file's shape: the one most records have; ties go to the shape seen first.
 * `shapes` holds one entry per record (null where no shape was recognised).
 */
export function majorityShape<S extends string>(shapes: (S | null)[]): S | null {
  const counts = new Map<S, number>();
  for (const s of shapes) if (s !== null) counts.set(s, (counts.get(s) ?? 0) + 1);
  return majorityOfCounts(counts);
}

/** The same rule over counts already made (a Map filled in the order the shapes were first seen). */
export function majorityOfCounts<S>(counts: Map<S, number>): S | null {
  let best: S | null = null;
  let bestCount = 0;
  for (const [s, n] of counts) {
    // Map iterates in insertion order, so a strict ">" keeps the first-seen shape on ties.
    if (n > bestCount) {
      best = s;
      bestCount = n;
    }
  }
  return best;
}
