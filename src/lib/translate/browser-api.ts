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
 */
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
}

export class BrowserTranslator implements Translator {
  readonly id = 'browser';
  private readonly sessions = new Map<string, Promise<TranslatorSession>>();

  constructor(private readonly opts: BrowserTranslatorOptions = {}) {}

  /** Creates (and, where needed, downloads) the session for a pair. Call from a user gesture. */
  prepare(source: string, target: string, signal?: AbortSignal): Promise<TranslatorSession> {
    const key = `${source}>${target}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = this.createSession(source, target, signal);
      session.catch(() => this.sessions.delete(key));
      this.sessions.set(key, session);
    }
    return session;
  }

  private async createSession(source: string, target: string, signal?: AbortSignal): Promise<TranslatorSession> {
    const T = api();
    if (!T) throw this.error('unavailable', 'this browser has no built-in Translator API');
    const availability = await browserTranslatorAvailability(source, target);
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
      try {
        result = await session.translate(texts[i], { signal: opts?.signal });
      } catch (err) {
        const e = asTranslateError(err, this.id, 'unavailable');
        throw new TranslateError({ translatorId: this.id, kind: e.kind, message: e.detail, textIndex: i });
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
