/** The built-in Translator API wrapper against a stand-in global `Translator` (Node has none). */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BrowserTranslator,
  browserTranslatorAvailability,
  browserTranslatorSupported,
} from '../../src/lib/translate/browser-api';
import { fakeTranslateText } from '../helpers/fake-translator';
import { TranslateError } from '../../src/lib/translate/types';

const g = globalThis as { Translator?: unknown };
afterEach(() => {
  delete g.Translator;
});

function install(availability: string, created: { opts?: Record<string, unknown> }) {
  g.Translator = {
    availability: async () => availability,
    create: async (opts: {
      monitor?: (m: { addEventListener: (t: string, f: (e: { loaded: number }) => void) => void }) => void;
    }) => {
      created.opts = opts as Record<string, unknown>;
      const listeners: ((e: { loaded: number }) => void)[] = [];
      opts.monitor?.({ addEventListener: (_t, f) => listeners.push(f) });
      for (const loaded of [0, 0.5, 1]) listeners.forEach((f) => f({ loaded }));
      return { translate: async (text: string) => fakeTranslateText(text), destroy: () => undefined };
    },
  };
}

describe('BrowserTranslator', () => {
  it('is not supported without a global Translator', async () => {
    expect(browserTranslatorSupported()).toBe(false);
    expect(await browserTranslatorAvailability('en', 'ko')).toBe('unavailable');
    await expect(new BrowserTranslator().translate(['x'], 'en', 'ko')).rejects.toMatchObject({
      kind: 'unavailable',
      translatorId: 'browser',
    });
  });

  it('creates a session with the language pair, reports download progress and translates', async () => {
    const created: { opts?: Record<string, unknown> } = {};
    install('downloadable', created);
    expect(browserTranslatorSupported()).toBe(true);
    const progress: number[] = [];
    const t = new BrowserTranslator({ onDownloadProgress: (f) => progress.push(f) });
    expect(await t.translate(['The cat sleeps.', 'The dog runs.'], 'en', 'ko')).toEqual([
      '그 고양이 잔다.',
      '그 개 달린다.',
    ]);
    expect(created.opts).toMatchObject({ sourceLanguage: 'en', targetLanguage: 'ko' });
    expect(progress).toEqual([0, 0.5, 1]);
  });

  it('an unavailable pair is an `unavailable` error', async () => {
    install('unavailable', {});
    await expect(new BrowserTranslator().translate(['x'], 'en', 'tlh')).rejects.toThrow('cannot translate en→tlh');
  });

  it('gives up with a timeout naming the missing language pack when create() never settles (offline)', async () => {
    let creates = 0;
    let aborted = false;
    g.Translator = {
      availability: async () => 'downloadable',
      create: (opts: { signal?: AbortSignal }) => {
        creates++;
        opts.signal?.addEventListener('abort', () => (aborted = true));
        return new Promise(() => undefined); // Chromium without network: never ready
      },
    };
    const t = new BrowserTranslator({ timeoutMs: 40 });
    const started = Date.now();
    const err = await t.prepare('en', 'ko').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(TranslateError);
    expect(err).toMatchObject({ kind: 'timeout', translatorId: 'browser' });
    expect((err as Error).message).toContain('not ready after 40 ms');
    expect((err as Error).message).toContain('en→ko language pack is not on this device (availability: downloadable)');
    expect(aborted).toBe(true);
    // the stalled session is not kept: the next try asks the browser again
    await t.prepare('en', 'ko').catch(() => undefined);
    expect(creates).toBe(2);
  });

  it('a pause while it waits rejects at once even when create() ignores its signal', async () => {
    g.Translator = {
      availability: async () => 'downloadable',
      create: () => new Promise(() => undefined),
    };
    const t = new BrowserTranslator({ timeoutMs: 60_000 });
    const pause = new AbortController();
    const waiting = t.prepare('en', 'ko', pause.signal).catch((e: unknown) => e);
    setTimeout(() => pause.abort(), 20);
    expect(await waiting).toMatchObject({ kind: 'aborted' });
  });

  it('a text that gets no translation in time is a timeout at its batch position', async () => {
    g.Translator = {
      availability: async () => 'available',
      create: async () => ({
        translate: (text: string) => (text === 'stall' ? new Promise(() => undefined) : Promise.resolve(`ko:${text}`)),
        destroy: () => undefined,
      }),
    };
    const t = new BrowserTranslator({ timeoutMs: 40 });
    const err = await t.translate(['ok', 'stall'], 'en', 'ko').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', textIndex: 1 });
    expect((err as Error).message).toContain('no translation within 40 ms');
  });
});
