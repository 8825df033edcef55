import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { openUrlSource, planDownload, checkPlanRoom, parseContentRange } from '../../src/lib/formats/url-source';
import { Sha256, sha256Hex } from '../../src/lib/formats/sha256';
import { kvModelFiles, storedModels } from '../../src/lib/store/model-files';
import { memoryStore } from '../../src/lib/store/memory';

const BASE = 'http://models.test/m/';
const enc = new TextEncoder();

function weightsBytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const WEIGHTS = weightsBytes(300_000);
const FILES: Record<string, Uint8Array> = {
  'config.json': enc.encode('{"model_type":"llama"}'),
  'model.safetensors': WEIGHTS,
  'tokenizer.json': enc.encode('{"model":{}}'),
};
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface FakeOptions {
  /** first GET of this file sends this many bytes, then the connection drops */
  dropAt?: number;
  /** answer Range requests with the whole file (200) */
  ignoreRange?: boolean;
  /** announce this sha256 in X-Linked-ETag for the weights (default: the right one) */
  sha?: string | null;
  /** send this many extra bytes past the announced size */
  extra?: number;
}

function fakeServer(o: FakeOptions = {}) {
  const log: { method: string; name: string; range: string | null }[] = [];
  let dropped = false;
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const name = url.slice(BASE.length);
    const method = init?.method ?? 'GET';
    const range = new Headers(init?.headers).get('range');
    log.push({ method, name, range });
    const body = FILES[name];
    if (!body) return new Response('not found', { status: 404, statusText: 'Not Found' });
    const headers = new Headers({ 'content-type': 'application/octet-stream' });
    if (name === 'model.safetensors' && o.sha !== null) headers.set('x-linked-etag', `"${o.sha ?? hex(body)}"`);
    let from = 0;
    let status = 200;
    const m = range && !o.ignoreRange ? /bytes=(\d+)-/.exec(range) : null;
    if (m) {
      from = Number(m[1]);
      status = 206;
      headers.set('content-range', `bytes ${from}-${body.length - 1}/${body.length}`);
    }
    headers.set('content-length', String(body.length - from));
    if (method === 'HEAD') return new Response(null, { status, headers });
    let part = body.subarray(from);
    if (o.extra && name === 'model.safetensors') part = new Uint8Array([...part, ...new Uint8Array(o.extra)]);
    const drop = name === 'model.safetensors' && o.dropAt !== undefined && !dropped;
    if (drop) dropped = true;
    const end = drop ? o.dropAt! - from : part.length;
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= end) {
          if (drop) c.error(new TypeError('network connection lost'));
          else c.close();
          return;
        }
        c.enqueue(part.slice(at, Math.min(end, at + 65536)));
        at += 65536;
      },
    });
    return new Response(stream, { status, headers });
  }) as typeof fetch;
  return { fetch: fetchFn, log };
}

async function readWeights(src: Awaited<ReturnType<typeof openUrlSource>>): Promise<Uint8Array> {
  const c = await src.chunked('model.safetensors');
  return c.read(0, c.size);
}

const gets = (log: { method: string; name: string; range: string | null }[], name: string) =>
  log.filter((r) => r.method === 'GET' && r.name === name);

describe('resumable URL downloads', () => {
  it('keeps the bytes of a dropped download and resumes with a Range request; the bytes are identical', async () => {
    const files = kvModelFiles(memoryStore(), 50_000);
    const server = fakeServer({ dropAt: 123_457 });
    const src = await openUrlSource(BASE, { files, fetch: server.fetch, freeBytes: async () => undefined });
    await expect(src.chunked('model.safetensors')).rejects.toThrow(
      /model\.safetensors: download cut off at 123457 of 300000 bytes .*load again to resume/,
    );
    expect(await files.size(BASE, 'model.safetensors')).toBe(123_457);
    expect((await storedModels(files)).models[0]).toMatchObject({ base: BASE, complete: false });

    const events: { resumedFrom?: number; loaded: number; done: boolean }[] = [];
    const src2 = await openUrlSource(BASE, {
      files,
      fetch: server.fetch,
      freeBytes: async () => undefined,
      onProgress: (p) => events.push(p),
    });
    const got = await readWeights(src2);
    expect(gets(server.log, 'model.safetensors').map((r) => r.range)).toEqual([null, 'bytes=123457-']);
    expect(src2.stats).toMatchObject({ resumed: 1, bytesDownloaded: 300_000 - 123_457 });
    expect(events.at(-1)).toMatchObject({ resumedFrom: 123_457, loaded: 300_000, done: true });
    expect(hex(got)).toBe(hex(WEIGHTS));
    expect((await storedModels(files)).models[0]).toMatchObject({ complete: true, bytes: 300_000 + 22 + 12 });

    // a third load needs no network
    const offline = (() => Promise.reject(new Error('offline'))) as typeof fetch;
    const src3 = await openUrlSource(BASE, { files, fetch: offline, freeBytes: async () => undefined });
    expect(hex(await readWeights(src3))).toBe(hex(WEIGHTS));
    expect(src3.stats.hits).toBeGreaterThan(0);

    // Delete frees the model's bytes and forgets it
    expect(await files.remove(BASE)).toBe(300_000 + 22 + 12);
    expect(await storedModels(files)).toEqual({ models: [], total: 0 });
    expect(await files.size(BASE, 'model.safetensors')).toBe(0);
  });

  it('starts over when the server answers a Range request with the whole file (200)', async () => {
    const files = kvModelFiles(memoryStore(), 50_000);
    const server = fakeServer({ dropAt: 100_000, ignoreRange: true });
    const src = await openUrlSource(BASE, { files, fetch: server.fetch, freeBytes: async () => undefined });
    await expect(src.chunked('model.safetensors')).rejects.toThrow(/cut off at 100000 of 300000/);
    const src2 = await openUrlSource(BASE, { files, fetch: server.fetch, freeBytes: async () => undefined });
    const got = await readWeights(src2);
    expect(gets(server.log, 'model.safetensors').map((r) => r.range)).toEqual([null, 'bytes=100000-']);
    expect(src2.stats).toMatchObject({ resumed: 0, bytesDownloaded: 300_000 });
    expect(got.length).toBe(300_000);
    expect(hex(got)).toBe(hex(WEIGHTS));
  });

  it('refuses a file whose size does not match what the server announced, and discards it', async () => {
    const files = kvModelFiles(memoryStore(), 50_000);
    const server = fakeServer({ extra: 10, sha: null });
    const src = await openUrlSource(BASE, { files, fetch: server.fetch, freeBytes: async () => undefined });
    await expect(src.chunked('model.safetensors')).rejects.toThrow(
      /size mismatch: received 300010 bytes, the server announced 300000/,
    );
    expect(await files.size(BASE, 'model.safetensors')).toBe(0);
  });

  it('refuses a file whose sha256 does not match the announced one, and discards it', async () => {
    const files = kvModelFiles(memoryStore(), 50_000);
    const server = fakeServer({ sha: 'ab'.repeat(32) });
    const src = await openUrlSource(BASE, { files, fetch: server.fetch, freeBytes: async () => undefined });
    await expect(src.chunked('model.safetensors')).rejects.toThrow(
      new RegExp(`sha256 mismatch: expected ${'ab'.repeat(32)}, got ${hex(WEIGHTS)}`),
    );
    expect(await files.size(BASE, 'model.safetensors')).toBe(0);
    expect((await files.manifest(BASE))?.files['model.safetensors']).toBeUndefined();
  });

  it('refuses to download when the storage estimate is too small, saying what is needed and available', async () => {
    const files = kvModelFiles(memoryStore());
    const server = fakeServer();
    const plan = await planDownload(BASE, { files, fetch: server.fetch, freeBytes: async () => 100_000 });
    expect(plan.needed).toBe(300_000 + 22 + 12);
    expect(plan.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    expect(() => checkPlanRoom(plan)).toThrow(/needs 0\.3 MB, 0\.1 MB available/);
    await expect(
      openUrlSource(BASE, { files, fetch: server.fetch, freeBytes: async () => 100_000 }),
    ).rejects.toMatchObject({ name: 'StorageQuotaError', needed: 300_000 + 12, available: 100_000 });
    expect(gets(server.log, 'model.safetensors')).toEqual([]);
  });

  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 10-99/100')).toEqual({ start: 10, end: 99, total: 100 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, end: 9, total: null });
    expect(parseContentRange(null)).toBeNull();
  });
});

describe('streaming SHA-256', () => {
  it('matches node:crypto for every length around the block edges and for split updates', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const b = weightsBytes(n, n + 1);
      expect(sha256Hex(b)).toBe(hex(b));
    }
    const h = new Sha256();
    for (let i = 0; i < WEIGHTS.length; i += 7777) h.update(WEIGHTS.subarray(i, i + 7777));
    expect(h.hex()).toBe(hex(WEIGHTS));
    expect(sha256Hex(enc.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
