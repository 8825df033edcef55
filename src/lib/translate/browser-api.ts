/**
 * The browser's built-in on-device Translator API (Chrome 138+ desktop, some Edge builds),
 * feature-detected: `'Translator' in self`. `Translator.availability({sourceLanguage,
 * targetLanguage})` says whether the language pair can run here ('available'), needs a model
 * download first ('downloadable' / 'downloading') or not at all ('unavailable');
 * `Translator.create({..., monitor})` creates a session and reports model-download progress as
 * `downloadprogress` events whose `loaded` is a fraction 0..1.
 *
 * Creating a session that must download a model needs a user gesture: call `prepare()` from a
 * click handler before the job runs. One session per language pair is kept until `destroy()`.
 *
 * Time limit (`timeoutMs`): getting a session ready and each translate() call give up after it with
 * a `timeout` error. Without network a pair that needs a download never gets ready (Chromium keeps
 * the create() promise pending), so without a limit the job would wait forever.
 */
import { deadline, formatMs } from './timeout';
import { TranslateError, asTranslateError, isAbortError, type TranslateOptions, type Translator } from './types';

export type BrowserAvailability = 'available' | 'downloadable' | 'downloading' | 'unavailable';

interface TranslatorSession {
  translate(text: string, opts?: { signal?: AbortSignal }): Promise<string>;
  destroy(): void;
}

interface DownloadMonitor {
  addEventListener(type: 'downloadprogress', listener: (e: { loaded: number; total?: number }) => void): void;
}

interface TranslatorStatic {
  availability(opts: { sourceLanguage: string; targetLanguage: string }): Promise<BrowserAvailability | null>;
  create(opts: {
    sourceLanguage: string;
    targetLanguage: string;
    monitor?: (m: DownloadMonitor) => void;
    signal?: AbortSignal;
  }): Promise<TranslatorSession>;
}

function api(): TranslatorStatic | null {
  const g = globalThis as unknown as { Translator?: TranslatorStatic };
  return 'Translator' in globalThis && g.Translator ? g.Translator : null;
}

/** True when this browser exposes the built-in Translator API. */
export function browserTranslatorSupported(): boolean {
  return api() !== null;
}

/** Availability of a language pair; 'unavailable' when the API is missing or cannot tell. */
export async function browserTranslatorAvailability(source: string, target: string): Promise<BrowserAvailability> {
  const T = api();
  if (!T) return 'unavailable';
  try {
    return (await T.availability({ sourceLanguage: source, targetLanguage: target })) ?? 'unavailable';
  } catch {
    return 'unavailable';
  }
}

export interface BrowserTranslatorOptions {
  /** model download progress, 0..1 */
  onDownloadProgress?: (fraction: number) => void;
  /** time limit for getting ready and for each text, in ms (default 30 s; 0 = none) */
  timeoutMs?: number;
}

export const BROWSER_TIMEOUT_MS = 30_000;

export class BrowserTranslator implements Translator {
  readonly id = 'browser';
  /** time limit for getting ready and for each text, in ms; 0 = none. May be changed between runs. */
  timeoutMs: number;
  /** what availability() said for the last pair prepared ('' before the first) */
  lastAvailability: BrowserAvailability | '' = '';
  private readonly sessions = new Map<string, Promise<TranslatorSession>>();

  constructor(private readonly opts: BrowserTranslatorOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? BROWSER_TIMEOUT_MS;
  }

  /**
   * Creates (and, where needed, downloads) the session for a pair. Call from a user gesture.
   * Rejects with a `timeout` TranslateError when it is not ready within `timeoutMs`.
   */
  prepare(source: string, target: string, signal?: AbortSignal): Promise<TranslatorSession> {
    const key = `${source}>${target}`;
    let session = this.sessions.get(key);
    if (!session) {
      const inner = new AbortController();
      const onOuter = (): void => inner.abort();
      if (signal?.aborted) inner.abort();
      signal?.addEventListener('abort', onOuter, { once: true });
      const limit = this.timeoutMs;
      session = deadline(
        this.createSession(source, target, inner.signal),
        limit,
        () => {
          inner.abort();
          const why =
            this.lastAvailability === 'downloadable' || this.lastAvailability === 'downloading'
              ? `the ${source}→${target} language pack is not on this device (availability: ${this.lastAvailability}) and did not download`
              : this.lastAvailability === ''
                ? 'the browser did not say whether it can translate this pair'
                : `availability: ${this.lastAvailability}`;
          return this.error('timeout', `not ready after ${formatMs(limit)}: ${why}`);
        },
        { signal, onCancel: () => this.error('aborted', 'cancelled') },
      );
      session.catch(() => this.sessions.delete(key)).finally(() => signal?.removeEventListener('abort', onOuter));
      this.sessions.set(key, session);
    }
    return session;
  }

  private async createSession(source: string, target: string, signal?: AbortSignal): Promise<TranslatorSession> {
    const T = api();
    if (!T) throw this.error('unavailable', 'this browser has no built-in Translator API');
    this.lastAvailability = '';
    const availability = await browserTranslatorAvailability(source, target);
    this.lastAvailability = availability;
    if (availability === 'unavailable')
      throw this.error('unavailable', `the built-in translator cannot translate ${source}→${target} here`);
    const onProgress = this.opts.onDownloadProgress;
    try {
      return await T.create({
        sourceLanguage: source,
        targetLanguage: target,
        signal,
        monitor(m) {
          m.addEventListener('downloadprogress', (e) =>
            onProgress?.(e.total && e.total !== 1 ? e.loaded / e.total : e.loaded),
          );
        },
      });
    } catch (err) {
      if (isAbortError(err)) throw this.error('aborted', 'cancelled');
      const name = (err as { name?: string }).name;
      const hint = name === 'NotAllowedError' ? ' (the model download must start from a click: press Run again)' : '';
      throw this.error(
        'unavailable',
        `could not start the built-in translator: ${err instanceof Error ? err.message : String(err)}${hint}`,
      );
    }
  }

  async translate(texts: string[], source: string, target: string, opts?: TranslateOptions): Promise<string[]> {
    const session = await this.prepare(source, target, opts?.signal);
    const out: string[] = [];
    for (let i = 0; i < texts.length; i++) {
      let result: unknown;
      const inner = new AbortController();
      const onOuter = (): void => inner.abort();
      opts?.signal?.addEventListener('abort', onOuter, { once: true });
      const limit = this.timeoutMs;
      try {
        result = await deadline(session.translate(texts[i], { signal: inner.signal }), limit, () => {
          inner.abort();
          return new TranslateError({
            translatorId: this.id,
            kind: 'timeout',
            message: `no translation within ${formatMs(limit)}`,
            textIndex: i,
          });
        });
      } catch (err) {
        if (err instanceof TranslateError && err.kind === 'timeout') throw err;
        const e = asTranslateError(err, this.id, 'unavailable');
        throw new TranslateError({ translatorId: this.id, kind: e.kind, message: e.detail, textIndex: i });
      } finally {
        opts?.signal?.removeEventListener('abort', onOuter);
      }
      if (typeof result !== 'string')
        throw new TranslateError({
          translatorId: this.id,
          kind: 'malformed',
          message: 'translate() returned no text',
          textIndex: i,
        });
      out.push(result);
    }
    return out;
  }

  destroy(): void {
    for (const s of this.sessions.values()) s.then((x) => x.destroy()).catch(() => undefined);
    this.sessions.clear();
  }

  private error(kind: TranslateError['kind'], message: string): TranslateError {
    return new TranslateError({ translatorId: this.id, kind, message });
  }
}
