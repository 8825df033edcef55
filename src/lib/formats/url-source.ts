/**
 * A FileSource over a URL base: Hugging Face `https://huggingface.co/<repo>/resolve/<rev>/` or any
 * static server holding a model folder. Downloads stream through fetch + ReadableStream with
 * per-file progress, are kept as a list of chunks (never one huge ArrayBuffer), and are cached in a
 * KeyValueStore (IndexedDB in the browser) so the second load needs no network at all.
 */
import type { KeyValueStore } from '../store/types';
import type { FileSource } from './file-source';
import type { ChunkedSource } from './safetensors';

export interface UrlProgress {
  file: string;
  url: string;
  loaded: number;
  /** from Content-Length; null when the server does not say */
  total: number | null;
  /** true when served from the cache */
  cached: boolean;
  done: boolean;
}

export interface UrlSourceOptions {
  fetch?: typeof fetch;
  store?: KeyValueStore | null;
  onProgress?: (p: UrlProgress) => void;
  signal?: AbortSignal;
  /** cache chunk size, bytes (default 32 MiB) */
  chunkBytes?: number;
}

export interface UrlFileSource extends FileSource {
  readonly base: string;
  readonly stats: { hits: number; misses: number; bytesDownloaded: number };
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

const PREFIX = 'hf-url:';
const OPTIONAL = ['tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];

/** "org/name", "org/name@rev" or a URL → a base URL ending in "/". */
export function resolveModelBase(spec: string): string {
  const s = spec.trim();
  if (/^https?:\/\//.test(s)) return s.endsWith('/') ? s : s + '/';
  const m = /^([\w.-]+\/[\w.-]+)(?:@([\w.-]+))?$/.exec(s);
  if (!m) throw new DownloadError(`"${spec}" is neither a URL nor a Hugging Face repo id like "org/name"`);
  return `https://huggingface.co/${m[1]}/resolve/${m[2] ?? 'main'}/`;
}

interface FileMeta {
  size: number;
  chunks: number;
  chunkBytes: number;
}

function chunkedOver(size: number, chunkBytes: number, getChunk: (i: number) => Promise<Uint8Array>): ChunkedSource {
  return {
    size,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      if (offset >= end) return new Uint8Array(0);
      const first = Math.floor(offset / chunkBytes);
      const last = Math.floor((end - 1) / chunkBytes);
      if (first === last) {
        const c = await getChunk(first);
        return c.subarray(offset - first * chunkBytes, end - first * chunkBytes);
      }
      const out = new Uint8Array(end - offset);
      for (let i = first; i <= last; i++) {
        const c = await getChunk(i);
        const cs = i * chunkBytes;
        const from = Math.max(offset, cs);
        const to = Math.min(end, cs + c.length);
        out.set(c.subarray(from - cs, to - cs), from - offset);
      }
      return out;
    },
  };
}

export async function openUrlSource(baseSpec: string, opts: UrlSourceOptions = {}): Promise<UrlFileSource> {
  const base = resolveModelBase(baseSpec);
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const store = opts.store ?? null;
  const chunkBytes = opts.chunkBytes ?? 32 * 2 ** 20;
  const stats = { hits: 0, misses: 0, bytesDownloaded: 0 };
  const memory = new Map<string, { meta: FileMeta; chunks: Uint8Array[] }>();

  const key = (url: string, part: string) => `${PREFIX}${url}#${part}`;

  /** Downloads one file into chunks; throws DownloadError on HTTP errors and cut-off bodies. 404 → null when allowed. */
  async function download(name: string, allow404: boolean): Promise<{ meta: FileMeta; chunks: Uint8Array[] } | null> {
    const url = base + name;
    let res: Response;
    try {
      res = await doFetch(url, { signal: opts.signal });
    } catch (e) {
      throw new DownloadError(`${url}: request failed (${(e as Error).message})`);
    }
    if (res.status === 404 && allow404) return null;
    if (!res.ok)
      throw new DownloadError(
        `${url}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}${res.status === 401 || res.status === 403 ? ' (gated or private model?)' : ''}`,
      );
    const lenHeader = res.headers.get('content-length');
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const total = lenHeader !== null && !encoded ? Number(lenHeader) : null;
    const chunks: Uint8Array[] = [];
    let cur = new Uint8Array(Math.min(chunkBytes, total ?? chunkBytes));
    let curLen = 0;
    let loaded = 0;
    let lastReport = 0;
    const report = (done: boolean) => opts.onProgress?.({ file: name, url, loaded, total, cached: false, done });
    report(false);
    if (!res.body) throw new DownloadError(`${url}: response has no body`);
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let v = value;
        while (v.length) {
          if (curLen === cur.length) {
            if (cur.length < chunkBytes) {
              // grow (only when Content-Length was missing or wrong)
              const bigger = new Uint8Array(Math.min(chunkBytes, cur.length * 2 || 65536));
              bigger.set(cur.subarray(0, curLen));
              cur = bigger;
            } else {
              chunks.push(cur);
              cur = new Uint8Array(chunkBytes);
              curLen = 0;
            }
          }
          const n = Math.min(v.length, cur.length - curLen);
          cur.set(v.subarray(0, n), curLen);
          curLen += n;
          v = v.subarray(n);
        }
        loaded += value.length;
        if (loaded - lastReport >= 1 << 20) {
          lastReport = loaded;
          report(false);
        }
      }
    } catch (e) {
      const msg = (e as Error).message;
      if (total !== null && loaded < total)
        throw new DownloadError(`${url}: download cut off at ${loaded} of ${total} bytes (${msg})`);
      throw new DownloadError(`${url}: download failed after ${loaded} bytes (${msg})`);
    }
    if (total !== null && loaded !== total)
      throw new DownloadError(`${url}: download cut off at ${loaded} of ${total} bytes`);
    if (curLen > 0 || chunks.length === 0) chunks.push(cur.subarray(0, curLen));
    stats.misses++;
    stats.bytesDownloaded += loaded;
    const meta: FileMeta = { size: loaded, chunks: chunks.length, chunkBytes };
    if (store) {
      for (let i = 0; i < chunks.length; i++) await store.set(key(url, String(i)), chunks[i]);
      await store.set(key(url, 'meta'), meta); // written last: a partial entry is never a hit
    }
    report(true);
    return { meta, chunks };
  }

  async function cachedMeta(name: string): Promise<FileMeta | null> {
    if (!store) return null;
    return (await store.get<FileMeta>(key(base + name, 'meta'))) ?? null;
  }

  async function get(name: string): Promise<ChunkedSource> {
    const url = base + name;
    const inMem = memory.get(name);
    if (inMem) return chunkedOver(inMem.meta.size, inMem.meta.chunkBytes, async (i) => inMem.chunks[i]);
    const meta = await cachedMeta(name);
    if (meta) {
      stats.hits++;
      opts.onProgress?.({ file: name, url, loaded: meta.size, total: meta.size, cached: true, done: true });
      let last: [number, Uint8Array] | null = null;
      return chunkedOver(meta.size, meta.chunkBytes, async (i) => {
        if (last && last[0] === i) return last[1];
        const c = await store!.get<Uint8Array>(key(url, String(i)));
        if (!c) throw new DownloadError(`${url}: cache entry ${i} is missing (clear the model cache and reload)`);
        last = [i, c];
        return c;
      });
    }
    const d = await download(name, false);
    memory.set(name, d!);
    return chunkedOver(d!.meta.size, d!.meta.chunkBytes, async (i) => d!.chunks[i]);
  }

  async function readAll(name: string): Promise<Uint8Array> {
    const c = await get(name);
    return c.read(0, c.size);
  }

  // Which files exist: cached from the first successful open, else probed.
  const listKey = `${PREFIX}${base}#list`;
  let files = store ? await store.get<string[]>(listKey) : undefined;
  if (!files) {
    files = [];
    const probe = async (name: string, optional: boolean) => {
      if (await cachedMeta(name)) return files!.push(name);
      const d = await download(name, optional);
      if (d) {
        memory.set(name, d);
        files!.push(name);
      }
    };
    await probe('config.json', false);
    await probe('model.safetensors.index.json', true);
    if (files.includes('model.safetensors.index.json')) {
      const idx = JSON.parse(new TextDecoder().decode(await readAll('model.safetensors.index.json'))) as {
        weight_map?: Record<string, string>;
      };
      if (!idx.weight_map) throw new DownloadError(`${base}model.safetensors.index.json: no "weight_map"`);
      files.push(...[...new Set(Object.values(idx.weight_map))].sort());
    } else files.push('model.safetensors');
    await probe('tokenizer.json', false);
    for (const n of OPTIONAL) await probe(n, true);
    if (store) await store.set(listKey, files);
  }
  const list = files;
  return {
    base,
    stats,
    description: base.replace(/\/$/, ''),
    list: () => [...list],
    read: readAll,
    chunked: get,
  };
}

/** Removes every cached file under a base URL (or all of them). */
export async function clearUrlCache(store: KeyValueStore, baseSpec?: string): Promise<number> {
  const prefix = PREFIX + (baseSpec ? resolveModelBase(baseSpec) : '');
  const keys = await store.keys(prefix);
  for (const k of keys) await store.del(k);
  return keys.length;
}
