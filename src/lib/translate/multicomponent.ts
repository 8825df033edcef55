/**
 * Multi-component translation (docs/methods.md §7): catalyst statement + indicator tokens.
 *
 * 1. serialize: the catalyst statement on its own line, then one line per non-empty part,
 *    `<indicator of that part's slot> <part>`; part i always carries indicators[i], so an empty
 *    input leaves `[2]` out rather than renumbering (empty parts are never sent);
 * 2. translate the whole text in one call;
 * 3. decompose: drop everything before the first indicator (the translated catalyst), split on
 *    the indicators, trim. The indicators sent must each occur exactly once and in order, and no
 *    translated part may come back empty; otherwise the parts are translated one by one (fallback).
 *
 * Provenance per record: `joint` (one call, decomposed), `fallback` (parts separately), `failed`.
 * A part that itself contains an indicator token skips the joint call (decomposition could not be
 * trusted) and goes straight to the fallback.
 */
import { TranslateError, asTranslateError, type Translator } from './types';

export const DEFAULT_CATALYST = 'The following is an instruction, its input, and the answer to it.';
export const DEFAULT_INDICATORS: readonly string[] = ['[1]', '[2]', '[3]'];

export interface MultiComponentOptions {
  catalyst: string;
  indicators: readonly string[];
}

export const DEFAULT_MULTI: MultiComponentOptions = { catalyst: DEFAULT_CATALYST, indicators: DEFAULT_INDICATORS };

export type Provenance = 'joint' | 'fallback' | 'failed';

export interface RecordTranslation {
  provenance: Provenance;
  /** translated parts, same length as the input parts (empty stays empty); null when failed */
  parts: string[] | null;
  /** why the joint path was not used (fallback/failed) */
  reason?: string;
  /** the translator error behind a `failed` record */
  error?: TranslateError;
  /** index of the part whose translation failed (fallback path); absent when the joint call failed */
  failedPart?: number;
}

/** Throws a one-line error when the settings cannot work. */
export function validateMultiOptions(opts: MultiComponentOptions, partCount: number): void {
  const inds = opts.indicators;
  if (inds.length < partCount) throw new Error(`need ${partCount} indicator tokens, got ${inds.length}`);
  inds.forEach((a, i) => {
    if (a.trim() === '' || a !== a.trim())
      throw new Error(`indicator ${i + 1} must be non-empty text without surrounding spaces`);
    inds.forEach((b, j) => {
      if (i !== j && b.includes(a))
        throw new Error(`indicator "${a}" occurs inside indicator "${b}"; pick tokens that do not contain each other`);
    });
    if (opts.catalyst.includes(a)) throw new Error(`the catalyst statement contains the indicator "${a}"`);
  });
}

/** The text sent for the joint call, or null when no part is non-empty. */
export function serializeParts(parts: readonly string[], opts: MultiComponentOptions): string | null {
  const lines: string[] = [];
  parts.forEach((p, i) => {
    if (p.trim() !== '') lines.push(`${opts.indicators[i]} ${p.trim()}`);
  });
  if (lines.length === 0) return null;
  const catalyst = opts.catalyst.trim();
  return catalyst === '' ? lines.join('\n') : `${catalyst}\n${lines.join('\n')}`;
}

function countOccurrences(text: string, token: string): number {
  let n = 0;
  for (let i = text.indexOf(token); i >= 0; i = text.indexOf(token, i + token.length)) n++;
  return n;
}

export type Decomposed = { ok: true; parts: string[] } | { ok: false; reason: string };

/**
 * Splits a translated joint text on `indicators` (the ones that were sent, in order).
 * Fails when an indicator is missing, repeated, out of order, or a part comes back empty.
 */
export function decompose(translated: string, indicators: readonly string[]): Decomposed {
  const positions: number[] = [];
  for (const ind of indicators) {
    const n = countOccurrences(translated, ind);
    if (n === 0) return { ok: false, reason: `indicator ${ind} missing` };
    if (n > 1) return { ok: false, reason: `indicator ${ind} appears ${n} times` };
    positions.push(translated.indexOf(ind));
  }
  for (let k = 1; k < positions.length; k++) {
    if (positions[k] <= positions[k - 1])
      return { ok: false, reason: `indicator ${indicators[k]} comes before ${indicators[k - 1]}` };
  }
  const parts = indicators.map((ind, k) => {
    const from = positions[k] + ind.length;
    const to = k + 1 < positions.length ? positions[k + 1] : translated.length;
    return translated.slice(from, to).trim();
  });
  const empty = parts.findIndex((p) => p === '');
  if (empty >= 0) return { ok: false, reason: `part after ${indicators[empty]} is empty` };
  return { ok: true, parts };
}

/** Errors that mean "this record cannot be translated" rather than "this translator is down". */
export function isRecordLevelError(err: TranslateError): boolean {
  return err.kind === 'missing' || err.kind === 'malformed';
}

/**
 * Translates the parts of one record (e.g. [instruction, input, output]) as docs/methods.md §7 says.
 * Never throws for translator errors: a failure comes back as `failed` with the error. When the
 * joint call fails for a reason other than the record itself (unreachable, timeout, http,
 * unavailable, aborted), no fallback is tried: the record is `failed` with that error.
 */
export async function translateRecord(
  parts: readonly string[],
  translator: Translator,
  source: string,
  target: string,
  opts: MultiComponentOptions = DEFAULT_MULTI,
  signal?: AbortSignal,
): Promise<RecordTranslation> {
  const sentIdx = parts.map((p, i) => (p.trim() !== '' ? i : -1)).filter((i) => i >= 0);
  if (sentIdx.length === 0) return { provenance: 'joint', parts: parts.map(() => '') };
  const sentIndicators = sentIdx.map((i) => opts.indicators[i]);
  const assemble = (translated: string[]): string[] => {
    const out = parts.map(() => '');
    sentIdx.forEach((i, k) => (out[i] = translated[k]));
    return out;
  };

  let reason: string;
  const clash = sentIdx.find((i) => opts.indicators.some((ind) => parts[i].includes(ind)));
  if (clash !== undefined) {
    reason = `part ${clash + 1} contains an indicator token`;
  } else {
    const serialized = serializeParts(parts, opts) as string;
    try {
      const [joint] = await translator.translate([serialized], source, target, { signal });
      const split = decompose(joint, sentIndicators);
      if (split.ok) return { provenance: 'joint', parts: assemble(split.parts) };
      reason = split.reason;
    } catch (err) {
      const e = asTranslateError(err, translator.id);
      if (!isRecordLevelError(e)) return { provenance: 'failed', parts: null, reason: 'joint call failed', error: e };
      reason = `joint call: ${e.kind}: ${e.detail}`;
    }
  }

  try {
    const separate = await translator.translate(
      sentIdx.map((i) => parts[i]),
      source,
      target,
      { signal },
    );
    return { provenance: 'fallback', parts: assemble(separate), reason };
  } catch (err) {
    const error = asTranslateError(err, translator.id);
    const failedPart = error.textIndex === undefined ? undefined : sentIdx[error.textIndex];
    return { provenance: 'failed', parts: null, reason, error, failedPart };
  }
}

/**
 * The texts a record needs translated, for a manual round trip: the joint text when the record can
 * go the joint way, else its non-empty parts. A translation imported for the joint text then
 * decomposes exactly as a machine translation would.
 */
export function textsForRecord(parts: readonly string[], opts: MultiComponentOptions = DEFAULT_MULTI): string[] {
  const sent = parts.filter((p) => p.trim() !== '');
  const clash = sent.some((p) => opts.indicators.some((ind) => p.includes(ind)));
  const joint = clash ? null : serializeParts(parts, opts);
  return joint === null ? sent : [joint];
}
