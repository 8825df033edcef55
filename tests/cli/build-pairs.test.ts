/** `build-pairs` command run in-process: parallel corpus, and libretranslate with a file cache that resumes. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/commands/build-pairs';
import { fakeTranslateText } from '../helpers/fake-translator';

const dir = mkdtempSync(join(tmpdir(), 'build-pairs-'));
const data = join(dir, 'en.jsonl');
writeFileSync(
  data,
  [
    JSON.stringify({ instruction: 'Name a cat.', input: '', output: 'The cat sleeps.' }),
    JSON.stringify({
      instruction: 'Write a poem about rain.',
      input: 'The rain falls.',
      output: 'Rain falls and the dog runs.',
    }),
    JSON.stringify({ instruction: 'Name a dog.', output: 'The dog runs.' }),
  ].join('\n') + '\n',
);

let server: Server;
let url = '';
let requests: string[] = [];
let failPoem = true;

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const q = String((JSON.parse(raw) as { q: unknown }).q);
      requests.push(q);
      if (failPoem && q.includes('poem')) res.writeHead(502).end('{"error":"bad gateway"}');
      else
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ translatedText: fakeTranslateText(q) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function capture(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const write = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    const code = await run(argv);
    return { code, stdout: out.join('\n'), stderr: err.join('') };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

describe('build-pairs command', () => {
  it('parallel translator: writes quadruples and one JSON document', async () => {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(
      corpus,
      [
        { en: 'Name a cat.', ko: '고양이 이름을 지어라.' },
        { en: 'The cat sleeps.', ko: '고양이가 잔다.' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const outFile = join(dir, 'par.jsonl');
    const r = await capture([
      '--data',
      data,
      '--translator',
      `parallel:${corpus}`,
      '--lang',
      'ko',
      '--out',
      outFile,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ rows: 1, joint: 0, fallback: 1, failed: 2, status: 'done', out: outFile });
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual({
      x_en: '### Instruction:\nName a cat.\n\n### Response:\n',
      y_en: 'The cat sleeps.',
      x_tgt: '### Instruction:\n고양이 이름을 지어라.\n\n### Response:\n',
      y_tgt: '고양이가 잔다.',
      lang: 'ko',
    });
    expect(existsSync(`${outFile}.cache.json`)).toBe(false);
  });

  it('libretranslate: stops at the failing record (exit 1), the re-run sends only what is missing', async () => {
    const outFile = join(dir, 'lt.jsonl');
    const cache = join(dir, 'lt-cache.json');
    const args = [
      '--data',
      data,
      '--translator',
      `libretranslate:${url}`,
      '--out',
      outFile,
      '--cache',
      cache,
      '--concurrency',
      '1',
      '--retries',
      '0',
      '--json',
    ];
    const first = await capture(args);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ rows: 1, status: 'paused' });
    expect(first.stderr).toContain(`translator libretranslate:${url} failed at record 1: http (HTTP 502): bad gateway`);
    expect(readFileSync(outFile, 'utf8').trim().split('\n').length).toBe(1);
    expect(Object.keys(JSON.parse(readFileSync(cache, 'utf8')) as object).length).toBe(1);

    requests = [];
    failPoem = false;
    const second = await capture(args);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      rows: 3,
      joint: 3,
      fallback: 0,
      failed: 0,
      status: 'done',
      out: outFile,
    });
    expect(requests.length).toBe(2);
    const rows = readFileSync(outFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { y_tgt: string });
    expect(rows.map((x) => x.y_tgt)).toEqual(['그 고양이 잔다.', '비 내린다 그리고 그 개 달린다.', '그 개 달린다.']);
  });

  it('bad flags exit with a one-line error naming the flag', async () => {
    await expect(capture(['--data', data, '--translator', 'deepl:x', '--out', join(dir, 'x.jsonl')])).rejects.toThrow(
      'build-pairs: --translator must be libretranslate:URL or parallel:FILE, got "deepl:x"',
    );
    await expect(
      capture([
        '--data',
        data,
        '--translator',
        `libretranslate:${url}`,
        '--out',
        join(dir, 'x.jsonl'),
        '--indicators',
        '[1],[2]',
      ]),
    ).rejects.toThrow('need 3 indicator tokens, got 2');
  });
});
