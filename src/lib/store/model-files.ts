/**
 * Where downloaded model files live: one folder per model URL, each file stored as it arrives (so an
 * interrupted download keeps what it received) plus a manifest saying which files are complete.
 *
 *   const files = defaultModelFiles(idbStore());   // OPFS when the browser has it, else the KeyValueStore
 *   await files.size(base, 'model.safetensors');     // bytes kept so far
 *   const w = await files.writer(base, name, kept);  // keeps [0, kept), appends after it
 *   const src = await files.chunked(base, name);     // ranged reads (OPFS: File.slice, no full copy)
 *   await files.models();  await files.remove(base);
 *
 * OPFS layout: `clo-models/<id>/manifest.json` and `clo-models/<id>/f-<file name>`, where <id> is
 * derived from the URL. In a worker, files are written through a sync access handle (in place, flushed
 * every few MiB, so a killed tab keeps its bytes); in a page, through createWritable. The fallback keeps
 * files as chunks in a KeyValueStore under `hf-url:<base>#…` (IndexedDB in the browser, memory in tests).
 */
import type { KeyValueStore } from './types';

/** Ranged reads of one stored file (the shape of formats' ChunkedSource). */
export interface StoredFileReader {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface StoredFileEntry {
  /** bytes kept */
  size: number;
  /** the file's full size according to the server; null when it did not say */
  expected: number | null;
  /** the sha256 the server announced, when it did */
  sha256?: string;
  complete: boolean;
}

export interface ModelManifest {
  /** the model's base URL (ends in "/") */
  base: string;
  /** files of the model, once known */
  list?: string[];
  files: Record<string, StoredFileEntry>;
  /** ms since epoch */
  updated: number;
}

export interface FileWriter {
  write(bytes: Uint8Array): Promise<void>;
  /** commits what was written; call it on errors too, to keep a partial file */
  close(): Promise<void>;
}

export interface ModelFileStore {
  readonly kind: 'opfs' | 'kv';
  manifest(base: string): Promise<ModelManifest | null>;
  saveManifest(m: ModelManifest): Promise<void>;
  /** bytes kept for a file (0 when absent) */
  size(base: string, name: string): Promise<number>;
  /** a writer that keeps the first `offset` bytes (offset ≤ size) and appends after them */
  writer(base: string, name: string, offset: number): Promise<FileWriter>;
  chunked(base: string, name: string): Promise<StoredFileReader>;
  /** manifests of every stored model */
  models(): Promise<ModelManifest[]>;
  /** deletes a model's folder; resolves to the bytes freed */
  remove(base: string): Promise<number>;
}

/** One stored model, as the Model view lists it. */
export interface StoredModelSummary {
  base: string;
  /** the last two path parts of the URL (org/name for Hugging Face) */
  name: string;
  /** bytes on disk */
  bytes: number;
  /** every file of the model downloaded and verified */
  complete: boolean;
  files: number;
  updated: number;
}

/** A readable name for a model URL: org/name for Hugging Face, else the folder's last two parts. */
export function modelNameOf(base: string): string {
  const hf = /huggingface\.co\/([^/]+\/[^/]+)\/resolve\//.exec(base);
  if (hf) return hf[1];
  return base.replace(/\/$/, '').split('/').slice(-2).join('/');
}

export function summarize(m: ModelManifest): StoredModelSummary {
  const entries = Object.values(m.files);
  const complete = !!m.list && m.list.every((n) => m.files[n]?.complete);
  return {
    base: m.base,
    name: modelNameOf(m.base),
    bytes: entries.reduce((s, e) => s + e.size, 0),
    complete,
    files: entries.length,
    updated: m.updated,
  };
}

/** Summaries of every stored model, newest first, and their total size. */
export async function storedModels(files: ModelFileStore): Promise<{ models: StoredModelSummary[]; total: number }> {
  const models = (await files.models()).map(summarize).sort((a, b) => b.updated - a.updated);
  return { models, total: models.reduce((s, m) => s + m.bytes, 0) };
}

// ---------------------------------------------------------------- KeyValueStore fallback

/** Files kept as chunks in a KeyValueStore. `chunkBytes` is the size of each stored chunk. */
export function kvModelFiles(store: KeyValueStore, chunkBytes = 32 * 2 ** 20, prefix = 'hf-url:'): ModelFileStore {
  const key = (base: string, part: string) => `${prefix}${base}#${part}`;
  interface FileIndex {
    size: number;
    chunkBytes: number;
  }
  const index = async (base: string, name: string) =>
    (await store.get<FileIndex>(key(base, `${name}#index`))) ?? { size: 0, chunkBytes };

  return {
    kind: 'kv',
    async manifest(base) {
      return (await store.get<ModelManifest>(key(base, 'manifest'))) ?? null;
    },
    async saveManifest(m) {
      await store.set(key(m.base, 'manifest'), m);
    },
    async size(base, name) {
      return (await index(base, name)).size;
    },
    async writer(base, name, offset) {
      const idx = await index(base, name);
      if (offset > idx.size) throw new Error(`${name}: cannot append at ${offset}, only ${idx.size} bytes kept`);
      const cb = idx.chunkBytes;
      let chunkNo = Math.floor(offset / cb);
      let cur = new Uint8Array(cb);
      let curLen = offset - chunkNo * cb;
      if (curLen > 0) {
        const kept = await store.get<Uint8Array>(key(base, `${name}#${chunkNo}`));
        if (!kept || kept.length < curLen) throw new Error(`${name}: stored chunk ${chunkNo} is missing`);
        cur.set(kept.subarray(0, curLen));
      }
      let size = offset;
      const flush = async () => {
        await store.set(key(base, `${name}#${chunkNo}`), cur.slice(0, curLen));
        await store.set(key(base, `${name}#index`), { size, chunkBytes: cb });
      };
      await store.set(key(base, `${name}#index`), { size, chunkBytes: cb });
      return {
        async write(bytes) {
          let v = bytes;
          while (v.length) {
            const n = Math.min(v.length, cb - curLen);
            cur.set(v.subarray(0, n), curLen);
            curLen += n;
            size += n;
            v = v.subarray(n);
            if (curLen === cb) {
              await flush();
              chunkNo++;
              cur = new Uint8Array(cb);
              curLen = 0;
            }
          }
        },
        async close() {
          if (curLen > 0) await flush();
          else await store.set(key(base, `${name}#index`), { size, chunkBytes: cb });
        },
      };
    },
    async chunked(base, name) {
      const { size, chunkBytes: cb } = await index(base, name);
      let last: [number, Uint8Array] | null = null;
      const chunk = async (i: number) => {
        if (last && last[0] === i) return last[1];
        const c = await store.get<Uint8Array>(key(base, `${name}#${i}`));
        if (!c) throw new Error(`${base}${name}: stored chunk ${i} is missing (delete the model and load it again)`);
        last = [i, c];
        return c;
      };
      return {
        size,
        async read(offset, length) {
          const end = Math.min(size, offset + length);
          if (offset >= end) return new Uint8Array(0);
          const first = Math.floor(offset / cb);
          const lastNo = Math.floor((end - 1) / cb);
          if (first === lastNo) return (await chunk(first)).subarray(offset - first * cb, end - first * cb);
          const out = new Uint8Array(end - offset);
          for (let i = first; i <= lastNo; i++) {
            const c = await chunk(i);
            const cs = i * cb;
            const from = Math.max(offset, cs);
            const to = Math.min(end, cs + c.length);
            out.set(c.subarray(from - cs, to - cs), from - offset);
          }
          return out;
        },
      };
    },
    async models() {
      const keys = (await store.keys(prefix)).filter((k) => k.endsWith('#manifest'));
      const out: ModelManifest[] = [];
      for (const k of keys) {
        const m = await store.get<ModelManifest>(k);
        if (m) out.push(m);
      }
      return out;
    },
    async remove(base) {
      const m = await this.manifest(base);
      const freed = m ? summarize(m).bytes : 0;
      for (const k of await store.keys(prefix + base + '#')) await store.del(k);
      return freed;
    },
  };
}

// ---------------------------------------------------------------- Origin Private File System

interface SyncAccessHandle {
  write(b: Uint8Array, o?: { at?: number }): number;
  truncate(n: number): void;
  flush(): void;
  close(): void;
}
type OpfsFile = FileSystemFileHandle & { createSyncAccessHandle?: () => Promise<SyncAccessHandle> };

const ROOT = 'clo-models';
const FLUSH_BYTES = 8 * 2 ** 20;

/** True when this realm has the Origin Private File System. */
export function hasOpfs(): boolean {
  const sm = (globalThis as { navigator?: { storage?: { getDirectory?: unknown } } }).navigator?.storage;
  return typeof sm?.getDirectory === 'function';
}

/** A folder name for a model URL: readable host/path bits plus a hash, within file-name limits. */
export function folderIdOf(base: string): string {
  const readable = modelNameOf(base)
    .replace(/[^\w.-]+/g, '_')
    .slice(0, 80);
  // two FNV-1a hashes with different offsets: 64 bits, enough to keep model URLs apart
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ base.length;
  for (let i = 0; i < base.length; i++) {
    const c = base.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 ^ 0x5bd1e995) >>> 0;
  }
  return `${readable}-${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

const fileNameOf = (name: string) => 'f-' + encodeURIComponent(name);

async function isMissing<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if ((e as { name?: string }).name === 'NotFoundError' || (e as { name?: string }).name === 'TypeError') return null;
    throw e;
  }
}

/** Files in the Origin Private File System (browser page or worker). */
export function opfsModelFiles(): ModelFileStore {
  const root = async () =>
    (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT, {
      create: true,
    }) as Promise<FileSystemDirectoryHandle>;
  const folder = async (base: string, create: boolean) =>
    isMissing((await root()).getDirectoryHandle(folderIdOf(base), { create }));
  const file = async (base: string, name: string, create: boolean): Promise<OpfsFile | null> => {
    const dir = await folder(base, create);
    return dir ? isMissing(dir.getFileHandle(name, { create })) : null;
  };
  const readManifest = async (dir: FileSystemDirectoryHandle) => {
    const fh = await isMissing(dir.getFileHandle('manifest.json'));
    if (!fh) return null;
    try {
      return JSON.parse(await (await fh.getFile()).text()) as ModelManifest;
    } catch {
      return null;
    }
  };
  const dirEntries = (dir: FileSystemDirectoryHandle) =>
    (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();

  return {
    kind: 'opfs',
    async manifest(base) {
      const dir = await folder(base, false);
      return dir ? readManifest(dir) : null;
    },
    async saveManifest(m) {
      const fh = (await file(m.base, 'manifest.json', true))!;
      const w = await fh.createWritable();
      await w.write(JSON.stringify(m));
      await w.close();
    },
    async size(base, name) {
      const fh = await file(base, fileNameOf(name), false);
      return fh ? (await fh.getFile()).size : 0;
    },
    async writer(base, name, offset) {
      const fh = (await file(base, fileNameOf(name), true))!;
      if (typeof fh.createSyncAccessHandle === 'function' && typeof document === 'undefined') {
        const h = await fh.createSyncAccessHandle();
        h.truncate(offset);
        let at = offset;
        let unflushed = 0;
        return {
          async write(bytes) {
            let done = 0;
            while (done < bytes.length) done += h.write(bytes.subarray(done), { at: at + done });
            at += bytes.length;
            unflushed += bytes.length;
            if (unflushed >= FLUSH_BYTES) {
              h.flush();
              unflushed = 0;
            }
          },
          async close() {
            h.flush();
            h.close();
          },
        };
      }
      const w = await fh.createWritable({ keepExistingData: true });
      await w.truncate(offset);
      await w.seek(offset);
      return {
        write: (bytes) => w.write(bytes as Uint8Array<ArrayBuffer>),
        close: () => w.close(),
      };
    },
    async chunked(base, name) {
      const fh = await file(base, fileNameOf(name), false);
      if (!fh) throw new Error(`${base}${name}: not stored`);
      const f = await fh.getFile();
      return { size: f.size, read: async (o, l) => new Uint8Array(await f.slice(o, o + l).arrayBuffer()) };
    },
    async models() {
      const out: ModelManifest[] = [];
      for await (const h of dirEntries(await root())) {
        if (h.kind !== 'directory') continue;
        const m = await readManifest(h as FileSystemDirectoryHandle);
        if (m) {
          // sizes on disk, which the manifest may trail during a download
          for (const n of Object.keys(m.files)) {
            try {
              const fh = await isMissing((h as FileSystemDirectoryHandle).getFileHandle(fileNameOf(n)));
              m.files[n].size = fh ? (await fh.getFile()).size : 0;
            } catch {
              /* being written (locked): the manifest's figure */
            }
          }
          out.push(m);
        }
      }
      return out;
    },
    async remove(base) {
      const m = (await this.models()).find((x) => x.base === base);
      await isMissing((await root()).removeEntry(folderIdOf(base), { recursive: true }));
      return m ? summarize(m).bytes : 0;
    },
  };
}

/** OPFS where the browser has it, else chunks in `store`. */
export function defaultModelFiles(store: KeyValueStore): ModelFileStore {
  return hasOpfs() ? opfsModelFiles() : kvModelFiles(store);
}
