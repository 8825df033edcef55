/**
 * The translator interface (docs/methods.md §7: translators are pluggable) and its error type.
 *
 * A translator takes a batch of texts and returns one translation per text, in order.
 * It either translates the whole batch or throws a TranslateError; it never returns
 * fewer strings than it was given.
 */

export interface TranslateOptions {
  signal?: AbortSignal;
}

export interface Translator {
  /** Stable id, used in cache keys and error messages, e.g. `libretranslate:http://host:5000`. */
  id: string;
  translate(texts: string[], source: string, target: string, opts?: TranslateOptions): Promise<string[]>;
}

/**
 * Why a translation failed.
 * - unreachable: network error, connection refused, DNS (after retries)
 * - http: the endpoint answered with an error status (`status` holds it)
 * - timeout: no answer within the per-request time limit (after retries)
 * - malformed: an answer that is not what the protocol promises
 * - missing: a lookup translator (parallel corpus, manual import) has no entry for the text
 * - unavailable: the translator cannot run here (no browser API, language pair not supported)
 * - aborted: the caller cancelled (pause)
 */
export type TranslateErrorKind =
  'unreachable' | 'http' | 'timeout' | 'malformed' | 'missing' | 'unavailable' | 'aborted';

export interface TranslateErrorInit {
  translatorId: string;
  kind: TranslateErrorKind;
  message: string;
  status?: number;
  /** index of the record (row of the data file, 0-based) the text belongs to, once known */
  recordIndex?: number;
  /** index of the text inside the batch given to translate() */
  textIndex?: number;
}

export class TranslateError extends Error {
  readonly translatorId: string;
  readonly kind: TranslateErrorKind;
  readonly status?: number;
  readonly recordIndex?: number;
  readonly textIndex?: number;
  /** the message without the translator/record prefix */
  readonly detail: string;

  constructor(init: TranslateErrorInit) {
    super(formatMessage(init));
    this.name = 'TranslateError';
    this.translatorId = init.translatorId;
    this.kind = init.kind;
    this.status = init.status;
    this.recordIndex = init.recordIndex;
    this.textIndex = init.textIndex;
    this.detail = init.message;
  }

  /** The same error, attributed to a record. */
  withRecord(recordIndex: number): TranslateError {
    return new TranslateError({
      translatorId: this.translatorId,
      kind: this.kind,
      message: this.detail,
      status: this.status,
      recordIndex,
      textIndex: this.textIndex,
    });
  }
}

function formatMessage(init: TranslateErrorInit): string {
  const where = init.recordIndex === undefined ? '' : ` at record ${init.recordIndex}`;
  const status = init.status === undefined ? '' : ` (HTTP ${init.status})`;
  return `translator ${init.translatorId}${where}: ${init.kind}${status}: ${init.message}`;
}

/** Wraps anything thrown inside a translator into a TranslateError. */
export function asTranslateError(
  err: unknown,
  translatorId: string,
  fallbackKind: TranslateErrorKind = 'unreachable',
): TranslateError {
  if (err instanceof TranslateError) return err;
  if (isAbortError(err)) return new TranslateError({ translatorId, kind: 'aborted', message: 'cancelled' });
  const message = err instanceof Error ? err.message : String(err);
  return new TranslateError({ translatorId, kind: fallbackKind, message });
}

export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}
