/**
 * Where an experiment keeps its progress and results (docs/experiments.md): a small record per
 * experiment (`state`), the current arm's training checkpoint (`ckpt/<arm>`), and the report files.
 * Browser: IndexedDB through any KeyValueStore (kvExperimentStore(idbStore())).
 * Node: a folder (cli/experiment-folder-store.ts).
 */
import type { KeyValueStore } from './types';

export interface ExperimentStore {
  /** a structured-clone-friendly value (typed arrays allowed) */
  get<T>(expId: string, key: string): Promise<T | undefined>;
  set<T>(expId: string, key: string, value: T): Promise<void>;
  del(expId: string, key: string): Promise<void>;
  /** a report file (e.g. report.md, summary.csv, curves.svg) */
  writeFile(expId: string, name: string, content: string | Uint8Array): Promise<void>;
  readFile(expId: string, name: string): Promise<string | Uint8Array | undefined>;
  /** ids of stored experiments */
  list(): Promise<string[]>;
}

const K = (id: string, key: string) => `exp:${id}:${key}`;
const F = (id: string, name: string) => `exp:${id}:file:${name}`;

/** An ExperimentStore over a KeyValueStore (IndexedDB in the browser, memory in tests). */
export function kvExperimentStore(kv: KeyValueStore): ExperimentStore {
  return {
    get: (id, key) => kv.get(K(id, key)),
    set: (id, key, v) => kv.set(K(id, key), v),
    del: (id, key) => kv.del(K(id, key)),
    writeFile: (id, name, c) => kv.set(F(id, name), c),
    readFile: (id, name) => kv.get(F(id, name)),
    async list() {
      const ids = new Set<string>();
      for (const k of await kv.keys('exp:')) ids.add(k.split(':')[1]);
      return [...ids].sort();
    },
  };
}
