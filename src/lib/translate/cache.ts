/**
 * Translation cache: key = translator id, source, target and SHA-256 of the text; value = the
 * translation. Storage goes through KeyValueStore (idb-keyval in the browser, a JSON file in the
 * CLI, store/memory.ts in tests). `cachedTranslator` sends only cache misses to the wrapped translator, so
 * re-running an interrupted job repeats no finished translation.
 */
import type { KeyValueStore } from '../store/types';
import { textHash } from './hash';
import { TranslateError, asTranslateError, type TranslateOptions, type Translator } from './types';

export const CACHE_PREFIX = 'translate-cache:';

export async function cacheKey(translatorId: string, source: string, target: string, text: string): Promise<string> {
  return `${CACHE_PREFIX}${translatorId}|${source}|${target}|${await textHash(text)}`;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export interface CachedTranslator extends Translator {
  stats: CacheStats;
}

/**
 * Wraps `inner` with the cache. Texts that are empty (after trim) are returned as they are and never
 * sent. Equal texts inside one batch are sent once. On failure the first failing text (by batch
 * position) is thrown; the texts that did translate are cached all the same.
 */
export function cachedTranslator(inner: Translator, store: KeyValueStore): CachedTranslator {
  const stats: CacheStats = { hits: 0, misses: 0 };
  return {
    id: inner.id,
    stats,
    async translate(texts: string[], source: string, target: string, opts?: TranslateOptions): Promise<string[]> {
      const out = new Array<string>(texts.length);
      const keys = await Promise.all(texts.map((t) => cacheKey(inner.id, source, target, t)));
      const missing = new Map<string, number[]>(); // text → positions
      for (let i = 0; i < texts.length; i++) {
        if (texts[i].trim() === '') {
          out[i] = texts[i];
          continue;
        }
        const hit = await store.get<string>(keys[i]);
        if (typeof hit === 'string') {
          out[i] = hit;
          stats.hits++;
        } else {
          const at = missing.get(texts[i]);
          if (at) at.push(i);
          else missing.set(texts[i], [i]);
        }
      }
      if (missing.size > 0) {
        // one call per distinct text, so every success is cached even when another text fails
        const todo = [...missing.entries()];
        stats.misses += todo.length;
        const settled = await Promise.allSettled(
          todo.map(async ([text, positions]) => {
            const [translated] = await inner.translate([text], source, target, opts);
            if (typeof translated !== 'string') {
              throw new TranslateError({
                translatorId: inner.id,
                kind: 'malformed',
                message: 'translator returned no text',
              });
            }
            for (const p of positions) out[p] = translated;
            await store.set(keys[positions[0]], translated);
          }),
        );
        let first: { pos: number; err: unknown } | undefined;
        settled.forEach((r, j) => {
          const pos = todo[j][1][0];
          if (r.status === 'rejected' && (!first || pos < first.pos)) first = { pos, err: r.reason };
        });
        if (first) throw relocate(asTranslateError(first.err, inner.id), first.pos);
      }
      return out;
    },
  };
}

function relocate(err: TranslateError, textIndex: number): TranslateError {
  return new TranslateError({
    translatorId: err.translatorId,
    kind: err.kind,
    message: err.detail,
    status: err.status,
    recordIndex: err.recordIndex,
    textIndex,
  });
}
