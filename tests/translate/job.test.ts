import { describe, expect, it } from 'vitest';
import { PairJob, type JobCounts } from '../../src/lib/translate/job';
import { cachedTranslator, CACHE_PREFIX } from '../../src/lib/translate/cache';
import { TranslateError, type Translator } from '../../src/lib/translate/types';
import { memoryStore } from '../../src/lib/store/memory';
import { LookupTable, LookupTranslator } from '../../src/lib/translate/lookup';
import { FakeTranslator } from '../helpers/fake-translator';

const RECORDS = [
  { parts: ['Name a cat.', '', 'The cat sleeps.'] },
  { parts: ['Write a poem about rain.', 'The rain falls.', 'Rain falls and the dog runs.'] },
  { parts: ['Name a dog.', '', 'The dog runs.'] },
];
const KO = [
  ['이름 한 고양이.', '', '그 고양이 잔다.'],
  ['써라 한 시 대해 비.', '그 비 내린다.', '비 내린다 그리고 그 개 달린다.'],
  ['이름 한 개.', '', '그 개 달린다.'],
];

describe('cache', () => {
  it('sends only misses, keys by translator/languages/hash, stores every success', async () => {
    const kv = memoryStore();
    const fake = new FakeTranslator();
    const t = cachedTranslator(fake, kv);
    expect(await t.translate(['The cat sleeps.', '', 'The cat sleeps.'], 'en', 'ko')).toEqual([
      '그 고양이 잔다.',
      '',
      '그 고양이 잔다.',
    ]);
    expect(fake.calls).toEqual([['The cat sleeps.']]);
    // sha256("The cat sleeps.") computed with python3 hashlib
    expect(await kv.keys(CACHE_PREFIX)).toEqual([
      `${CACHE_PREFIX}fake|en|ko|f6d023669bad4e4b418d158f09223cd3e57d1069915b159be77ae3dc63d4e118`,
    ]);
    expect(await t.translate(['The cat sleeps.'], 'en', 'ko')).toEqual(['그 고양이 잔다.']);
    expect(fake.calls.length).toBe(1);
    expect(t.stats).toEqual({ hits: 1, misses: 1 });
    // another target language is another key
    await t.translate(['The cat sleeps.'], 'en', 'ja');
    expect(fake.calls.length).toBe(2);
  });

  it('caches the texts that succeeded when another text of the batch fails', async () => {
    const kv = memoryStore();
    const fake = new FakeTranslator({
      fail: (s) =>
        s === 'The dog runs.' ? new TranslateError({ translatorId: 'fake', kind: 'timeout', message: 'slow' }) : null,
    });
    const t = cachedTranslator(fake, kv);
    const err = await t.translate(['Name a cat.', 'The dog runs.'], 'en', 'ko').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TranslateError);
    expect((err as TranslateError).textIndex).toBe(1);
    expect((await kv.keys(CACHE_PREFIX)).length).toBe(1);
  });
});

describe('PairJob', () => {
  it('translates all records and counts provenance', async () => {
    const progress: JobCounts[] = [];
    const fake = new FakeTranslator({
      mangle: (src, out) => (src.includes('Name a dog.') ? out.replace('[3]', '') : out),
    });
    const job = new PairJob(RECORDS, {
      translator: fake,
      source: 'en',
      target: 'ko',
      onProgress: (c) => progress.push(c),
    });
    const out = await job.run();
    expect(out).toMatchObject({ status: 'done', done: 3, total: 3, joint: 2, fallback: 1, failed: 0 });
    expect(job.results.map((r) => r?.parts)).toEqual(KO);
    expect(job.results[2]?.provenance).toBe('fallback');
    expect(progress[progress.length - 1]).toEqual({ done: 3, total: 3, joint: 2, fallback: 1, failed: 0 });
    expect(progress[0].done).toBe(0);
  });

  it('pauses on a translator failure naming translator and record; a re-run translates only what is missing', async () => {
    const kv = memoryStore();
    let down = true;
    const fake = new FakeTranslator({
      id: 'fake-http',
      fail: (src) =>
        down && src.includes('poem')
          ? new TranslateError({ translatorId: 'fake-http', kind: 'http', status: 503, message: 'busy' })
          : null,
    });
    const job = new PairJob(RECORDS, { translator: fake, source: 'en', target: 'ko', cache: kv, concurrency: 1 });
    const first = await job.run();
    expect(first.status).toBe('paused');
    expect(first.message).toContain('translator fake-http failed at record 1');
    expect(first.message).toContain('HTTP 503');
    expect(first.error?.recordIndex).toBe(1);
    expect(first.done).toBe(1);
    expect(job.results[0]?.parts).toEqual(KO[0]);
    expect(job.results[1]).toBeUndefined();
    expect(job.results[2]).toBeUndefined(); // nothing started after the failure

    // a fresh job (new session) with the same cache: record 0 comes from the cache
    down = false;
    const fresh = new FakeTranslator({ id: 'fake-http' });
    const again = new PairJob(RECORDS, { translator: fresh, source: 'en', target: 'ko', cache: kv, concurrency: 1 });
    const second = await again.run();
    expect(second).toMatchObject({ status: 'done', done: 3, joint: 3 });
    expect(again.results.map((r) => r?.parts)).toEqual(KO);
    expect(fresh.calls.length).toBe(2);
    expect(fresh.texts.some((t) => t.includes('Name a cat.'))).toBe(false);

    // the same job object resumes too, and sends nothing new (all cached now)
    const callsBefore = fake.calls.length;
    const third = await job.run();
    expect(third.status).toBe('done');
    expect(fake.calls.length).toBe(callsBefore);
  });

  it('a record-level failure marks the record failed and the job goes on', async () => {
    const fake = new FakeTranslator({
      fail: (src) =>
        src.includes('rain')
          ? new TranslateError({ translatorId: 'fake', kind: 'missing', message: 'no entry' })
          : null,
    });
    const job = new PairJob(RECORDS, { translator: fake, source: 'en', target: 'ko' });
    const out = await job.run();
    expect(out).toMatchObject({ status: 'done', done: 3, joint: 2, fallback: 0, failed: 1 });
    expect(job.results[1]?.provenance).toBe('failed');
    expect(job.results[1]?.error).toContain('record 1');
    expect(job.pendingIndices()).toEqual([1]);
    // the per-record report: record 1, its instruction (part 0) is the first text that failed
    expect(job.failures()).toEqual([
      {
        index: 1,
        line: undefined,
        part: 0,
        kind: 'missing',
        why: 'no entry',
        jointReason: 'joint call: missing: no entry',
      },
    ]);
  });

  it('names the part that failed: a lookup table without the answer fails part 2', async () => {
    const table = new LookupTable();
    table.add('Name a cat.', '고양이 이름.');
    const job = new PairJob([{ parts: ['Name a cat.', '', 'The cat sleeps.'], line: 7 }], {
      translator: new LookupTranslator('parallel:t', table, 'en', 'ko'),
      source: 'en',
      target: 'ko',
    });
    const out = await job.run();
    expect(out).toMatchObject({ status: 'done', failed: 1 });
    const [f] = job.failures();
    expect(f).toMatchObject({ index: 0, line: 7, part: 2, kind: 'missing' });
    expect(f.why).toContain('no entry for "The cat sleeps."');
  });

  it('pause() stops the job and keeps finished records; run() continues', async () => {
    // a translator that takes 30 ms per call and honours the abort signal
    let calls = 0;
    const slow: Translator = {
      id: 'slow',
      translate: (texts, _s, _t, opts) =>
        new Promise((resolve, reject) => {
          calls++;
          const timer = setTimeout(() => resolve(texts.map((t) => t.toUpperCase())), 30);
          opts?.signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new TranslateError({ translatorId: 'slow', kind: 'aborted', message: 'cancelled' }));
          });
        }),
    };
    let paused = false;
    const job = new PairJob(RECORDS, {
      translator: slow,
      source: 'en',
      target: 'ko',
      concurrency: 1,
      onProgress: (c) => {
        if (c.done === 1 && !paused) {
          paused = true;
          job.pause();
        }
      },
    });
    const out = await job.run();
    expect(out.status).toBe('paused');
    expect(out.message).toMatch(/^Paused by request: 1 of 3/);
    expect(calls).toBe(1);
    const rest = await job.run();
    expect(rest).toMatchObject({ status: 'done', done: 3, joint: 3 });
    expect(job.results[2]?.parts).toEqual(['NAME A DOG.', '', 'THE DOG RUNS.']);
  });
});
