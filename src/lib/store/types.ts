/**
 * Persistence interfaces. Browser: IndexedDB via idb-keyval (store/idb.ts). Node: files (store/fs in cli/).
 * Values are structured-clone friendly (typed arrays allowed).
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T): Promise<void>;
  del(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}
