/**
 * A FileSource over a URL base: Hugging Face `https://huggingface.co/<repo>/resolve/<rev>/` or any
 * static server holding a model folder. Files download one by one with per-file progress into a
 * ModelFileStore (the Origin Private File System in the browser, a KeyValueStore elsewhere) and are
 * read back from there in slices, never as one big buffer.
 *
 * Downloads resume: bytes received before an interruption are kept, and the next load asks for the
 * rest with `Range: bytes=N-` (a 206 continues the file, a 200 starts it over). Each file is checked
 * against its size (Content-Length, or the total of Content-Range) and, when the server announces one
 * (`X-Linked-ETag` / `ETag` holding 64 hex digits, as Hugging Face does for LFS files), its sha256.
 * Before downloading, the sizes still missing are summed (HEAD requests) and checked against
 * navigator.storage.estimate(); too little room is refused with a StorageQuotaError. The second load of
 * a complete model needs no network at all.
 */
import type { KeyValueStore } from '../store/types';
import type { FileSource } from './file-source';
import type { ChunkedSource } from './safetensors';
import { memoryStore } from '../store/memory';
import { freeBytes, StorageQuotaError } from '../store/idb';
import { defaultModelFiles, kvModelFiles, type ModelFileStore, type ModelManifest } from '../store/model-files';
import { Sha256 } from './sha256';

export interface UrlProgress {
  file: string;
  url: string;
  loaded: number;
  /** from Content-Length / Content-Range; null when the server does not say */
  total: number | null;
  /** true when served from the cache */
  cached: boolean;
  done: boolean;
  /** bytes kept from an earlier, interrupted download that this one continues */
  resumedFrom?: number;
}

export interface UrlSourceOptions {
  fetch?: typeof fetch;
  /** where downloads are kept when `files` is not given (OPFS is preferred when the browser has it) */
  store?: KeyValueStore | null;
  /** where downloads are kept; default: OPFS, else `store`, else memory */
  files?: ModelFileStore;
  onProgress?: (p: UrlProgress) => void;
  signal?: AbortSignal;
  /** chunk size of the KeyValueStore fallback, bytes (default 32 MiB) */
  chunkBytes?: number;
  /** free bytes (default: navigator.storage.estimate()); undefined skips the check */
  freeBytes?: () => Promise<number | undefined>;
}

export interface UrlFileSource extends FileSource {
  readonly base: string;
  readonly stats: { hits: number; misses: number; bytesDownloaded: number; resumed: number };
  /** downloads the file when it is not complete yet, then reads it from the store */
  chunked(name: string): Promise<ChunkedSource>;
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

const PREFIX = 'hf-url:';
const OPTIONAL = ['tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];
const MB = 2 ** 20;
const fmtMB = (b: number) => `${(b / MB).toFixed(1)} MB`;

/** "org/name", "org/name@rev" or a URL → a base URL ending in "/". */
export function resolveModelBase(spec: string): string {
  const s = spec.trim();
  if (/^https?:\/\//.test(s)) return s.endsWith('/') ? s : s + '/';
  const m = /^([\w.-]+\/[\w.-]+)(?:@([\w.-]+))?$/.exec(s);
  if (!m) throw new DownloadError(`"${spec}" is neither a URL nor a Hugging Face repo id like "org/name"`);
  return `https://huggingface.co/${m[1]}/resolve/${m[2] ?? 'main'}/`;
}

/** The sha256 a response announces: X-Linked-ETag or ETag when it is 64 hex digits (Hugging Face LFS files). */
export function announcedSha256(headers: Headers): string | undefined {
  for (const h of ['x-linked-etag', 'etag']) {
    const v = headers.get(h)?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    if (v && /^[0-9a-f]{64}$/.test(v)) return v;
  }
  return undefined;
}

/** `bytes 100-199/1000` → {start: 100, end: 199, total: 1000}; total null for `/*`. */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v.trim()) : null;
  return m ? { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) } : null;
}

function sizeFromHeaders(h: Headers): number | null {
  const linked = h.get('x-linked-size');
  if (linked && /^\d+$/.test(linked)) return Number(linked);
  const encoded = (h.get('content-encoding') ?? 'identity') !== 'identity';
  const len = h.get('content-length');
  return len !== null && !encoded && /^\d+$/.test(len) ? Number(len) : null;
}

function httpError(url: string, res: Response): DownloadError {
  return new DownloadError(
    `${url}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}${res.status === 401 || res.status === 403 ? ' (gated or private model?)' : ''}`,
  );
}

export interface DownloadPlanFile {
  name: string;
  /** full size, when the server says */
  size: number | null;
  /** bytes already stored */
  kept: number;
  complete: boolean;
}

export interface DownloadPlan {
  base: string;
  files: DownloadPlanFile[];
  /** bytes still to download (files of unknown size not counted) */
  needed: number;
  /** free bytes per navigator.storage.estimate(); undefined when the browser does not say */
  free: number | undefined;
}

interface PlanContext {
  base: string;
  files: ModelFileStore;
  manifest: ModelManifest | null;
  doFetch: typeof fetch;
  signal?: AbortSignal;
  freeBytes: () => Promise<number | undefined>;
}

/** Sizes of the listed files not yet complete (HEAD requests), and the room they need. */
async function planFor(ctx: PlanContext, list: string[]): Promise<DownloadPlan> {
  const out: DownloadPlanFile[] = [];
  let needed = 0;
  for (const name of list) {
    const entry = ctx.manifest?.files[name];
    const kept = await ctx.files.size(ctx.base, name);
    if (entry?.complete && kept === entry.size) {
      out.push({ name, size: entry.size, kept, complete: true });
      continue;
    }
    let size = entry?.expected ?? null;
    if (size === null) {
      try {
        const res = await ctx.doFetch(ctx.base + name, { method: 'HEAD', signal: ctx.signal });
        if (res.ok) size = sizeFromHeaders(res.headers);
      } catch {
        /* unknown size: checked again when the download starts */
      }
    }
    if (size !== null) needed += Math.max(0, size - kept);
    out.push({ name, size, kept, complete: false });
  }
  return { base: ctx.base, files: out, needed, free: await ctx.freeBytes() };
}

/** Throws StorageQuotaError when a plan does not fit the free storage. */
export function checkPlanRoom(plan: DownloadPlan): void {
  if (plan.free !== undefined && plan.needed > plan.free)
    throw new StorageQuotaError(
      `Not enough browser storage to download ${plan.base}: needs ${fmtMB(plan.needed)}, ${fmtMB(plan.free)} available. Delete stored models (Model view) or other data, then try again.`,
      plan.needed,
      plan.free,
    );
}

/**
 * What a load of `baseSpec` would download: the file list (config.json, the safetensors index and
 * shards, tokenizer files; the small index is read without being stored), each file's size and what is
 * already stored, and the free storage. For the page to refuse a download that does not fit.
 */
export async function planDownload(baseSpec: string, opts: UrlSourceOptions = {}): Promise<DownloadPlan> {
  const base = resolveModelBase(baseSpec);
  const files = opts.files ?? defaultModelFiles(opts.store ?? memoryStore());
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const manifest = await files.manifest(base);
  const ctx: PlanContext = {
    base,
    files,
    manifest,
    doFetch,
    signal: opts.signal,
    freeBytes: opts.freeBytes ?? freeBytes,
  };
  let list = manifest?.list;
  if (!list) {
    list = ['config.json'];
    const idx = await doFetch(base + 'model.safetensors.index.json', { signal: opts.signal }).catch((e: Error) => {
      throw new DownloadError(`${base}model.safetensors.index.json: request failed (${e.message})`);
    });
    if (idx.ok) {
      const map = ((await idx.json()) as { weight_map?: Record<string, string> }).weight_map ?? {};
      list.push('model.safetensors.index.json', ...[...new Set(Object.values(map))].sort());
    } else if (idx.status === 404) list.push('model.safetensors');
    else throw httpError(base + 'model.safetensors.index.json', idx);
    list.push('tokenizer.json');
  }
  return planFor(ctx, list);
}

export async function openUrlSource(baseSpec: string, opts: UrlSourceOptions = {}): Promise<UrlFileSource> {
  const base = resolveModelBase(baseSpec);
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const files = opts.files ?? (opts.store ? defaultModelFiles(opts.store) : kvModelFiles(memoryStore()));
  const stats = { hits: 0, misses: 0, bytesDownloaded: 0, resumed: 0 };
  const stored = await files.manifest(base);
  // chunks an older version cached in the KeyValueStore for this URL are no longer read
  if (!stored && opts.store && files.kind === 'opfs') await clearUrlCache(opts.store, base);
  const manifest: ModelManifest = stored ?? { base, files: {}, updated: Date.now() };
  const save = async () => {
    manifest.updated = Date.now();
    await files.saveManifest(manifest);
  };
  const getFree = opts.freeBytes ?? freeBytes;
  /** files downloaded by this source (not reported again as cache hits) */
  const fresh = new Set<string>();

  /** Removes a stored file (a stale or corrupt one) so the next download starts over. */
  async function discard(name: string) {
    await (await files.writer(base, name, 0)).close();
    delete manifest.files[name];
    await save();
  }

  async function hashStored(name: string): Promise<string> {
    const src = await files.chunked(base, name);
    const h = new Sha256();
    for (let o = 0; o < src.size; o += 4 * MB) h.update(await src.read(o, Math.min(4 * MB, src.size - o)));
    return h.hex();
  }

  async function request(url: string, from: number): Promise<Response> {
    try {
      return await doFetch(url, {
        signal: opts.signal,
        ...(from > 0 ? { headers: { Range: `bytes=${from}-` } } : {}),
      });
    } catch (e) {
      throw new DownloadError(`${url}: request failed (${(e as Error).message})`);
    }
  }

  /**
   * Makes `name` complete in the store: a hit when it already is, else downloads it, continuing a
   * partial file with a Range request. false for a 404 when allowed. Throws DownloadError.
   */
  async function ensure(name: string, allow404: boolean): Promise<boolean> {
    const url = base + name;
    const entry = manifest.files[name];
    let kept = await files.size(base, name);
    if (entry?.complete && kept === entry.size) {
      if (fresh.has(name)) return true;
      stats.hits++;
      opts.onProgress?.({ file: name, url, loaded: kept, total: kept, cached: true, done: true });
      return true;
    }
    if (entry?.complete || !entry) kept = 0; // a complete entry of the wrong size, or bytes with no record: start over
    let res = await request(url, kept);
    if (kept > 0 && res.status === 416) {
      // the kept bytes do not fit the file any more: start over
      await res.body?.cancel();
      kept = 0;
      res = await request(url, 0);
    }
    if (res.status === 404 && allow404) return false;
    if (!res.ok) throw httpError(url, res);

    const sha = announcedSha256(res.headers);
    let start = 0;
    let total: number | null;
    if (res.status === 206) {
      const cr = parseContentRange(res.headers.get('content-range'));
      const same =
        cr !== null &&
        cr.start === kept &&
        (entry?.expected == null || cr.total === null || cr.total === entry.expected) &&
        (!entry?.sha256 || !sha || entry.sha256 === sha);
      if (!same) {
        // a different range or a changed file: start over with a full request
        await res.body?.cancel();
        res = await request(url, 0);
        if (!res.ok) throw httpError(url, res);
        total = sizeFromHeaders(res.headers);
      } else {
        start = kept;
        total = cr.total;
      }
    } else total = sizeFromHeaders(res.headers); // 200: the whole file, from byte 0
    if (res.status === 206 && start === 0)
      throw new DownloadError(`${url}: the server answered a full request with a part (HTTP 206)`);
    if (start > 0) stats.resumed++;

    if (total !== null) {
      const free = await getFree();
      const need = total - start;
      if (free !== undefined && need > free)
        throw new StorageQuotaError(
          `Not enough browser storage to download ${url}: needs ${fmtMB(need)}, ${fmtMB(free)} available. Delete stored models (Model view) or other data, then try again.`,
          need,
          free,
        );
    }
    manifest.files[name] = { size: start, expected: total, ...(sha ? { sha256: sha } : {}), complete: false };
    await save();

    let loaded = start;
    let lastReport = 0;
    const report = (done: boolean) =>
      opts.onProgress?.({
        file: name,
        url,
        loaded,
        total,
        cached: false,
        done,
        ...(start > 0 ? { resumedFrom: start } : {}),
      });
    report(false);
    if (!res.body) throw new DownloadError(`${url}: response has no body`);
    const writer = await files.writer(base, name, start);
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await writer.write(value);
        loaded += value.length;
        stats.bytesDownloaded += value.length;
        if (loaded - lastReport >= MB) {
          lastReport = loaded;
          report(false);
        }
      }
    } catch (e) {
      await writer.close().catch(() => undefined);
      const msg = (e as Error).message;
      if (total === null) {
        // without a size the kept part cannot be trusted to continue
        await discard(name);
        throw new DownloadError(`${url}: download failed after ${loaded} bytes (${msg})`);
      }
      manifest.files[name].size = loaded;
      await save();
      throw new DownloadError(
        `${url}: download cut off at ${loaded} of ${total} bytes (${msg}); ${fmtMB(loaded)} kept: load again to resume`,
      );
    }
    await writer.close();
    if (total !== null && loaded < total) {
      manifest.files[name].size = loaded;
      await save();
      throw new DownloadError(
        `${url}: download cut off at ${loaded} of ${total} bytes; ${fmtMB(loaded)} kept: load again to resume`,
      );
    }
    if (total !== null && loaded !== total) {
      await discard(name);
      throw new DownloadError(
        `${url}: size mismatch: received ${loaded} bytes, the server announced ${total}; discarded`,
      );
    }
    if (sha) {
      const got = await hashStored(name);
      if (got !== sha) {
        await discard(name);
        throw new DownloadError(`${url}: sha256 mismatch: expected ${sha}, got ${got}; discarded`);
      }
    }
    manifest.files[name] = { size: loaded, expected: loaded, ...(sha ? { sha256: sha } : {}), complete: true };
    await save();
    stats.misses++;
    fresh.add(name);
    report(true);
    return true;
  }

  async function get(name: string): Promise<ChunkedSource> {
    await ensure(name, false);
    return files.chunked(base, name);
  }

  async function readAll(name: string): Promise<Uint8Array> {
    const c = await get(name);
    return c.read(0, c.size);
  }

  // Which files exist: kept from the first successful open, else probed.
  if (!manifest.list) {
    const found: string[] = [];
    const probe = async (name: string, optional: boolean) => {
      if (await ensure(name, optional)) found.push(name);
    };
    await probe('config.json', false);
    await probe('model.safetensors.index.json', true);
    if (found.includes('model.safetensors.index.json')) {
      const idx = JSON.parse(new TextDecoder().decode(await readAll('model.safetensors.index.json'))) as {
        weight_map?: Record<string, string>;
      };
      if (!idx.weight_map) throw new DownloadError(`${base}model.safetensors.index.json: no "weight_map"`);
      found.push(...[...new Set(Object.values(idx.weight_map))].sort());
    } else found.push('model.safetensors');
    // the room for the weights, before any of them downloads
    checkPlanRoom(
      await planFor({ base, files, manifest, doFetch, signal: opts.signal, freeBytes: getFree }, [
        ...found.slice(1),
        'tokenizer.json',
      ]),
    );
    await probe('tokenizer.json', false);
    for (const n of OPTIONAL) await probe(n, true);
    manifest.list = found;
    await save();
  } else {
    checkPlanRoom(
      await planFor({ base, files, manifest, doFetch, signal: opts.signal, freeBytes: getFree }, manifest.list),
    );
  }
  const list = manifest.list;
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
