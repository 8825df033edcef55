import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { openUrlSource, resolveModelBase, clearUrlCache, type UrlProgress } from '../../src/lib/formats/url-source';
import { loadHfModel } from '../../src/lib/formats/hf-load';
import { memoryStore } from '../../src/lib/store/memory';
import { kvModelFiles } from '../../src/lib/store/model-files';
import { disposeWeights } from '../../src/lib/model/weights';
import { forward, type ModelLike } from '../../src/lib/model/forward';
import { hfFixture } from '../helpers/hf-fixtures';

let server: Server;
let base = '';
const requests: string[] = [];
const sharded = hfFixture('qwen2', 'BF16', 2);
const single = hfFixture('llama', 'F32', 1);
const asBytes = (v: Uint8Array | string) =>
  typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

beforeAll(async () => {
  await tf.setBackend('cpu');
  server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '/');
    requests.push(path);
    const [, folder, ...rest] = path.split('/');
    const name = rest.join('/');
    const files = folder === 'sharded' ? sharded.files : folder === 'single' || folder === 'cut' ? single.files : null;
    const body = files?.[name];
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const buf = asBytes(body);
    res.writeHead(200, { 'content-length': String(buf.length), 'content-type': 'application/octet-stream' });
    if (folder === 'cut' && name === 'model.safetensors') {
      // promise the whole file, send half, hang up
      res.write(buf.subarray(0, buf.length >> 1), () => res.socket?.destroy());
      return;
    }
    res.end(buf);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function firstLogits(m: ModelLike): Float32Array {
  return tf.tidy(() => forward(m, tf.tensor2d([[0, 4, 5, 6]], [1, 4], 'int32')).dataSync() as Float32Array);
}

describe('URL loading from a static server', () => {
  it('loads a sharded model with per-file progress; the second load is served from the cache without any request', async () => {
    const store = memoryStore();
    const events: UrlProgress[] = [];
    requests.length = 0;
    const src = await openUrlSource(`${base}/sharded/`, { store, onProgress: (p) => events.push(p), chunkBytes: 1000 });
    const m = await loadHfModel(src, 'qwen-url');
    expect(src.list()).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    // every file reported with its full size at the end
    for (const f of src.list()) {
      const last = events.filter((e) => e.file === f).at(-1)!;
      const size = asBytes(sharded.files[f]).length;
      expect(last).toMatchObject({ loaded: size, total: size, done: true, cached: false });
    }
    expect(src.stats.misses).toBe(6);
    expect(src.stats.hits).toBe(0);
    expect(requests.filter((r) => r.endsWith('generation_config.json'))).toHaveLength(1); // probed, 404
    const want = firstLogits(sharded);
    expect(Math.max(...firstLogits(m).map((x, i) => Math.abs(x - want[i])))).toBeLessThan(1e-5);
    disposeWeights(m.weights);

    requests.length = 0;
    const events2: UrlProgress[] = [];
    const src2 = await openUrlSource(`${base}/sharded`, {
      store,
      onProgress: (p) => events2.push(p),
      fetch: () => Promise.reject(new Error('offline')),
    });
    const m2 = await loadHfModel(src2, 'qwen-url');
    expect(requests).toEqual([]);
    expect(src2.stats.hits).toBe(6);
    expect(src2.stats.misses).toBe(0);
    expect(events2.every((e) => e.cached && e.done)).toBe(true);
    expect(Math.max(...firstLogits(m2).map((x, i) => Math.abs(x - want[i])))).toBeLessThan(1e-5);
    disposeWeights(m2.weights);
    expect(await clearUrlCache(store, `${base}/sharded`)).toBeGreaterThan(6);
    expect(await store.keys('hf-url:')).toEqual([]);
  });

  it('gives a clean error on 404', async () => {
    await expect(openUrlSource(`${base}/nothing-here/`)).rejects.toThrow(
      `${base}/nothing-here/config.json: HTTP 404 Not Found`,
    );
  });

  it('gives a clean error on a cut-off download and keeps the part received, not marked complete', async () => {
    const store = memoryStore();
    const src = await openUrlSource(`${base}/cut/`, { store });
    const size = asBytes(single.files['model.safetensors']).length;
    await expect(loadHfModel(src, 'cut')).rejects.toThrow(
      new RegExp(`^${base.replace(/\./g, '\\.')}/cut/model\\.safetensors: download cut off at \\d+ of ${size} bytes`),
    );
    const manifest = await kvModelFiles(store).manifest(`${base}/cut/`);
    expect(manifest?.files['model.safetensors']).toMatchObject({ complete: false, expected: size });
    expect(manifest!.files['model.safetensors'].size).toBeGreaterThan(0);
  });

  it('resolves Hugging Face repo ids', () => {
    expect(resolveModelBase('HuggingFaceTB/SmolLM2-135M')).toBe(
      'https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main/',
    );
    expect(resolveModelBase('openai-community/gpt2@abc123')).toBe(
      'https://huggingface.co/openai-community/gpt2/resolve/abc123/',
    );
    expect(() => resolveModelBase('not a model')).toThrow(/neither a URL nor a Hugging Face repo id/);
  });
});
