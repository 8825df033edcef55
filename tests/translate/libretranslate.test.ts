/**
 * LibreTranslate client against a LibreTranslate-compatible server started here on 127.0.0.1
 * (node:http, port 0). The server translates with the test fake (translate-fake.ts) and can be
 * told to fail, stall or answer garbage per request.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LibreTranslateTranslator } from '../../src/lib/translate/libretranslate';
import { PairJob } from '../../src/lib/translate/job';
import { TranslateError } from '../../src/lib/translate/types';
import { memoryStore } from '../../src/lib/store/memory';
import { fakeTranslateText } from '../helpers/fake-translator';

interface Seen {
  body: Record<string, unknown>;
}
type Behaviour = (body: Record<string, unknown>, nth: number) => 'ok' | 'stall' | { status: number; body: string };

let server: Server;
let url: string;
let seen: Seen[] = [];
let behaviour: Behaviour = () => 'ok';
let inFlight = 0;
let maxInFlight = 0;
const stalled: ServerResponse[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (raw += c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/translate') {
      res.writeHead(404).end('{"error":"not found"}');
      return;
    }
    const body = JSON.parse(raw) as Record<string, unknown>;
    seen.push({ body });
    const what = behaviour(body, seen.length);
    if (what === 'stall') {
      stalled.push(res);
      return;
    }
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      if (what === 'ok') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ translatedText: fakeTranslateText(String(body.q)) }));
      } else {
        res.writeHead(what.status, { 'Content-Type': 'application/json' });
        res.end(what.body);
      }
    }, 10);
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  for (const r of stalled) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  behaviour = () => 'ok';
  maxInFlight = 0;
});

const client = (over: Partial<ConstructorParameters<typeof LibreTranslateTranslator>[0]> = {}) =>
  new LibreTranslateTranslator({ url, retries: 3, backoffMs: 5, timeoutMs: 2000, concurrency: 2, ...over });

describe('LibreTranslate client', () => {
  it('translates with the documented request body, at most `concurrency` requests in flight', async () => {
    const t = client({ apiKey: 'k123' });
    expect(t.id).toBe(`libretranslate:${url.slice(0, -1)}`);
    const out = await t.translate(['The cat sleeps.', 'Name a dog.', 'The rain falls.', 'The dog runs.'], 'en', 'ko');
    expect(out).toEqual(['그 고양이 잔다.', '이름 한 개.', '그 비 내린다.', '그 개 달린다.']);
    expect(seen.length).toBe(4);
    expect(seen[0].body).toEqual({ q: 'The cat sleeps.', source: 'en', target: 'ko', format: 'text', api_key: 'k123' });
    expect(maxInFlight).toBe(2);
    const noKey = client();
    await noKey.translate(['The cat sleeps.'], 'en', 'ko');
    expect('api_key' in seen[4].body).toBe(false);
  });

  it('retries a 500 and succeeds', async () => {
    behaviour = (_b, nth) => (nth <= 2 ? { status: 500, body: '{"error":"boom"}' } : 'ok');
    expect(await client().translate(['The dog runs.'], 'en', 'ko')).toEqual(['그 개 달린다.']);
    expect(seen.length).toBe(3);
  });

  it('retries 429 and 503 up to `retries` times, then reports the status', async () => {
    behaviour = () => ({ status: 503, body: '{"error":"overloaded"}' });
    const err = await client({ retries: 2 })
      .translate(['The dog runs.'], 'en', 'ko')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TranslateError);
    expect(err).toMatchObject({ kind: 'http', status: 503 });
    expect((err as Error).message).toContain('overloaded (gave up after 3 attempts)');
    expect(seen.length).toBe(3);
    seen = [];
    behaviour = (_b, nth) => (nth === 1 ? { status: 429, body: '{"error":"slow down"}' } : 'ok');
    expect(await client().translate(['The dog runs.'], 'en', 'ko')).toEqual(['그 개 달린다.']);
    expect(seen.length).toBe(2);
  });

  it('does not retry other 4xx statuses', async () => {
    behaviour = () => ({ status: 400, body: '{"error":"ko is not supported"}' });
    const err = await client()
      .translate(['The dog runs.'], 'en', 'ko')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'http', status: 400, detail: 'ko is not supported' });
    expect(seen.length).toBe(1);
  });

  it('a malformed answer is an error, not retried', async () => {
    behaviour = () => ({ status: 200, body: '{"translation":"x"}' });
    await expect(client().translate(['The dog runs.'], 'en', 'ko')).rejects.toMatchObject({ kind: 'malformed' });
    behaviour = () => ({ status: 200, body: '<html>hello</html>' });
    await expect(client().translate(['The dog runs.'], 'en', 'ko')).rejects.toMatchObject({ kind: 'malformed' });
    expect(seen.length).toBe(2);
  });

  it('times out a stalled request, retries, then reports a timeout', async () => {
    behaviour = () => 'stall';
    const started = Date.now();
    const err = await client({ timeoutMs: 100, retries: 1 })
      .translate(['The dog runs.'], 'en', 'ko')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(seen.length).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('an address nobody listens on is unreachable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const t = new LibreTranslateTranslator({ url: `http://127.0.0.1:${port}`, retries: 1, backoffMs: 5 });
    await expect(t.translate(['x'], 'en', 'ko')).rejects.toMatchObject({ kind: 'unreachable' });
  });

  it('a job pauses on a failing record; the resumed job asks the server only for what is missing', async () => {
    const records = [
      { parts: ['Name a cat.', '', 'The cat sleeps.'] },
      { parts: ['Name a dog.', '', 'The dog runs.'] },
      { parts: ['Write a poem about rain.', 'The rain falls.', 'Rain falls and the dog runs.'] },
      { parts: ['Name a cat.', '', 'The dog runs.'] },
    ];
    const kv = memoryStore();
    behaviour = (b) => (String(b.q).includes('poem') ? { status: 500, body: '{"error":"boom"}' } : 'ok');
    const first = await new PairJob(records, {
      translator: client({ retries: 1 }),
      source: 'en',
      target: 'ko',
      cache: kv,
      concurrency: 1,
    }).run();
    expect(first.status).toBe('paused');
    expect(first.message).toContain(
      `translator libretranslate:${url.slice(0, -1)} failed at record 2: http (HTTP 500): boom`,
    );
    expect(first.done).toBe(2);
    expect(seen.length).toBe(4); // records 0 and 1 once each, record 2 twice (one retry)

    seen = [];
    behaviour = () => 'ok';
    const job = new PairJob(records, { translator: client(), source: 'en', target: 'ko', cache: kv, concurrency: 1 });
    const second = await job.run();
    expect(second).toMatchObject({ status: 'done', done: 4, joint: 4, failed: 0 });
    expect(seen.length).toBe(2); // only records 2 and 3
    expect(seen.map((s) => String(s.body.q).split('\n')[1])).toEqual([
      '[1] Write a poem about rain.',
      '[1] Name a cat.',
    ]);
    expect(job.results[2]?.parts).toEqual(['써라 한 시 대해 비.', '그 비 내린다.', '비 내린다 그리고 그 개 달린다.']);
  });
});
