/**
 * LibreTranslate-compatible HTTP translator: POST {url}/translate with
 * `{q, source, target, format: "text", api_key?}` → `{translatedText}`. One request per text.
 *
 * - at most `concurrency` requests in flight, across all concurrent translate() calls;
 * - each request gets `timeoutMs` (AbortController); the caller's signal cancels everything;
 * - 429, 5xx, network errors and timeouts are retried `retries` times with exponential backoff
 *   (`backoffMs`·2^attempt, at least the server's Retry-After seconds on 429, capped at `maxBackoffMs`);
 * - any other non-2xx status fails at once (kind `http`);
 * - a 2xx answer without a string `translatedText` fails at once (kind `malformed`).
 */
import { Semaphore, sleep } from './pool';
import { TranslateError, isAbortError, type TranslateOptions, type Translator } from './types';

export interface LibreTranslateOptions {
  url: string;
  apiKey?: string;
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /** injected for tests or custom transports; defaults to globalThis.fetch */
  fetch?: typeof fetch;
}

export const LIBRETRANSLATE_DEFAULTS = {
  concurrency: 4,
  timeoutMs: 30_000,
  retries: 3,
  backoffMs: 500,
  maxBackoffMs: 30_000,
} as const;

type Attempt =
  { ok: true; text: string } | { ok: false; error: TranslateError; retryable: boolean; retryAfterMs?: number };

export class LibreTranslateTranslator implements Translator {
  readonly id: string;
  private readonly endpoint: string;
  private readonly apiKey?: string;
  private readonly slots: Semaphore;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(opts: LibreTranslateOptions) {
    const base = opts.url.trim().replace(/\/+$/, '');
    if (!/^https?:\/\//i.test(base))
      throw new Error(`LibreTranslate URL must start with http:// or https://, got "${opts.url}"`);
    this.endpoint = `${base}/translate`;
    this.id = `libretranslate:${base}`;
    this.apiKey = opts.apiKey || undefined;
    this.slots = new Semaphore(opts.concurrency ?? LIBRETRANSLATE_DEFAULTS.concurrency);
    this.timeoutMs = opts.timeoutMs ?? LIBRETRANSLATE_DEFAULTS.timeoutMs;
    this.retries = opts.retries ?? LIBRETRANSLATE_DEFAULTS.retries;
    this.backoffMs = opts.backoffMs ?? LIBRETRANSLATE_DEFAULTS.backoffMs;
    this.maxBackoffMs = opts.maxBackoffMs ?? LIBRETRANSLATE_DEFAULTS.maxBackoffMs;
    const f = opts.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new Error('no fetch() available for the LibreTranslate translator');
    this.fetchFn = f.bind(globalThis);
  }

  translate(texts: string[], source: string, target: string, opts?: TranslateOptions): Promise<string[]> {
    return Promise.all(texts.map((text, i) => this.translateOne(text, i, source, target, opts?.signal)));
  }

  private async translateOne(
    text: string,
    textIndex: number,
    source: string,
    target: string,
    signal?: AbortSignal,
  ): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw this.error('aborted', 'cancelled', textIndex);
      const result = await this.slots.run(() => this.attempt(text, textIndex, source, target, signal));
      if (result.ok) return result.text;
      if (!result.retryable || attempt >= this.retries) {
        if (!result.retryable) throw result.error;
        throw this.error(
          result.error.kind,
          `${result.error.detail} (gave up after ${attempt + 1} attempts)`,
          textIndex,
          result.error.status,
        );
      }
      const backoff = Math.min(this.maxBackoffMs, Math.max(this.backoffMs * 2 ** attempt, result.retryAfterMs ?? 0));
      try {
        await sleep(backoff, signal);
      } catch {
        throw this.error('aborted', 'cancelled', textIndex);
      }
    }
  }

  private async attempt(
    text: string,
    textIndex: number,
    source: string,
    target: string,
    signal?: AbortSignal,
  ): Promise<Attempt> {
    const body: Record<string, string> = { q: text, source, target, format: 'text' };
    if (this.apiKey) body.api_key = this.apiKey;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onOuterAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      let res: Response;
      let raw: string;
      try {
        res = await this.fetchFn(this.endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
        raw = await res.text();
      } catch (err) {
        if (timedOut)
          return {
            ok: false,
            retryable: true,
            error: this.error('timeout', `no answer within ${this.timeoutMs} ms from ${this.endpoint}`, textIndex),
          };
        if (signal?.aborted || isAbortError(err)) throw this.error('aborted', 'cancelled', textIndex);
        const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        return {
          ok: false,
          retryable: true,
          error: this.error('unreachable', `cannot reach ${this.endpoint}: ${why}`, textIndex),
        };
      }
      if (!res.ok) {
        const retryable = res.status === 429 || res.status >= 500;
        const retryAfter = Number(res.headers.get('retry-after'));
        return {
          ok: false,
          retryable,
          retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
          error: this.error('http', serverMessage(raw) ?? res.statusText ?? 'error status', textIndex, res.status),
        };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return {
          ok: false,
          retryable: false,
          error: this.error('malformed', `answer is not JSON: ${clip(raw)}`, textIndex),
        };
      }
      const translated = (parsed as { translatedText?: unknown } | null)?.translatedText;
      if (typeof translated !== 'string') {
        return {
          ok: false,
          retryable: false,
          error: this.error('malformed', `answer has no string "translatedText": ${clip(raw)}`, textIndex),
        };
      }
      return { ok: true, text: translated };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  private error(kind: TranslateError['kind'], message: string, textIndex: number, status?: number): TranslateError {
    return new TranslateError({ translatorId: this.id, kind, message, status, textIndex });
  }
}

function serverMessage(raw: string): string | undefined {
  try {
    const e = (JSON.parse(raw) as { error?: unknown } | null)?.error;
    return typeof e === 'string' ? e : undefined;
  } catch {
    return raw.trim() ? clip(raw) : undefined;
  }
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}
