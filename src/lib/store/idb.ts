/**
 * IndexedDB-backed KeyValueStore (idb-keyval), usable from the page and from workers.
 *
 *   const kv = idbStore();                 // database 'clo-lab', object store 'kv'
 *   await kv.set('run:abc', record);       // throws StorageQuotaError when the browser is full
 *   await kv.keys('run:');                 // keys starting with a prefix
 *
 * Large writes: call `ensureRoom(bytes)` first; it checks navigator.storage.estimate() and throws
 * StorageQuotaError with a readable message instead of letting IndexedDB fail half-way.
 */
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import type { KeyValueStore } from './types';

export class StorageQuotaError extends Error {
  override name = 'StorageQuotaError';
  constructor(
    message: string,
    readonly needed?: number,
    readonly available?: number,
  ) {
    super(message);
  }
}

const MB = 1024 * 1024;
const fmt = (b: number) => `${(b / MB).toFixed(1)} MB`;

/** True for the errors browsers raise when storage is full (DOMException QuotaExceededError and friends). */
export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name ?? '';
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || name === 'StorageQuotaError';
}

function quotaMessage(key: string): string {
  return `Browser storage is full: could not save "${key}". Delete old runs or datasets (Data and Train views) and try again.`;
}

interface StorageManagerLike {
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  persist?: () => Promise<boolean>;
  persisted?: () => Promise<boolean>;
}

function storageManager(): StorageManagerLike | undefined {
  const nav = (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator;
  return nav?.storage;
}

/** Free bytes according to navigator.storage.estimate(); undefined when the browser does not say. */
export async function freeBytes(): Promise<number | undefined> {
  const sm = storageManager();
  if (!sm?.estimate) return undefined;
  try {
    const { usage = 0, quota } = await sm.estimate();
    return quota === undefined ? undefined : Math.max(0, quota - usage);
  } catch {
    return undefined;
  }
}

/** Throws StorageQuotaError when the estimate says `bytes` will not fit. */
export async function ensureRoom(bytes: number, what = 'this data'): Promise<void> {
  const free = await freeBytes();
  if (free !== undefined && bytes > free) {
    throw new StorageQuotaError(
      `Not enough browser storage for ${what}: needs about ${fmt(bytes)}, ${fmt(free)} free. Delete old runs or datasets and try again.`,
      bytes,
      free,
    );
  }
}

/** Asks the browser to keep our data under storage pressure. Returns whether storage is persistent. */
export async function requestPersistence(): Promise<boolean> {
  const sm = storageManager();
  try {
    if (sm?.persisted && (await sm.persisted())) return true;
    return sm?.persist ? await sm.persist() : false;
  } catch {
    return false;
  }
}

/** Rough size in bytes of a structured-clone value (typed arrays exact, strings as UTF-16). */
export function approxBytes(value: unknown): number {
  const seen = new Set<unknown>();
  const walk = (v: unknown): number => {
    if (v === null || v === undefined) return 0;
    if (typeof v === 'string') return v.length * 2;
    if (typeof v === 'number' || typeof v === 'boolean') return 8;
    if (ArrayBuffer.isView(v)) return v.byteLength;
    if (v instanceof ArrayBuffer) return v.byteLength;
    if (typeof v !== 'object' || seen.has(v)) return 0;
    seen.add(v);
    let n = 0;
    if (Array.isArray(v)) for (const x of v) n += walk(x);
    else for (const [k, x] of Object.entries(v as Record<string, unknown>)) n += k.length * 2 + walk(x);
    return n;
  };
  return walk(value);
}

/** Wraps any KeyValueStore so quota failures become StorageQuotaError with a clear message. */
export function withQuotaErrors(inner: KeyValueStore): KeyValueStore {
  return {
    get: (k) => inner.get(k),
    del: (k) => inner.del(k),
    keys: (p) => inner.keys(p),
    async set(k, v) {
      try {
        await inner.set(k, v);
      } catch (e) {
        if (isQuotaError(e)) throw new StorageQuotaError(quotaMessage(k));
        throw e;
      }
    },
  };
}

const stores = new Map<string, KeyValueStore>();

/** The lab's IndexedDB store (one per database/object-store name, shared within a realm). */
export function idbStore(dbName = 'clo-lab', storeName = 'kv'): KeyValueStore {
  const id = `${dbName}/${storeName}`;
  let s = stores.get(id);
  if (!s) {
    const use: UseStore = createStore(dbName, storeName);
    s = withQuotaErrors({
      get: <T>(k: string) => get<T>(k, use),
      set: (k, v) => set(k, v, use),
      del: (k) => del(k, use),
      keys: async (prefix = '') =>
        (await keys<string>(use)).filter((k) => typeof k === 'string' && k.startsWith(prefix)),
    });
    stores.set(id, s);
  }
  return s;
}
