/** In-memory KeyValueStore (tests, Node, and fallbacks when IndexedDB is unavailable). Values are structured-cloned like IndexedDB would. */
import type { KeyValueStore } from './types';

export function memoryStore(): KeyValueStore {
  const m = new Map<string, unknown>();
  return {
    async get<T>(k: string) {
      return m.has(k) ? (structuredClone(m.get(k)) as T) : undefined;
    },
    async set(k, v) {
      m.set(k, structuredClone(v));
    },
    async del(k) {
      m.delete(k);
    },
    async keys(prefix = '') {
      return [...m.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
}
