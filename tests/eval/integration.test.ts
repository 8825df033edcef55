import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/lib/eval/run-eval';
import { kobestCopa, kobestSentineg } from '../../src/lib/eval/tasks';
import { decodeDataBytes, type DataSource } from '../../src/lib/eval/data';
import { scoreSequences } from '../../src/lib/model/score';
import { paragraphsFromJsonl, perplexity } from '../../src/lib/eval/perplexity';
import type { LoadedModel } from '../../src/lib/model/model';
import { loadStories, ROOT } from '../helpers/helpers';

const source: DataSource = {
  label: 'public/data',
  read: async (rel) => new Uint8Array(readFileSync(resolve(ROOT, 'public/data', `${rel}.gz`))),
};

function rawRows(rel: string, n: number): Record<string, string>[] {
  const text = decodeDataBytes(new Uint8Array(readFileSync(resolve(ROOT, 'public/data', `${rel}.gz`))));
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, n)
    .map((l) => JSON.parse(l));
}

/** The §4 recipe written out directly for one (context, choice): BOS + context tokens + tokens of the whole past them. */
async function separateLoglik(m: LoadedModel, context: string, choice: string): Promise<number> {
  const ctx = context.trimEnd();
  const cont = context.slice(ctx.length) + ' ' + choice;
  const whole = m.tokenizer.encode(ctx + cont, { bos: true });
  const c = m.tokenizer.encode(ctx, { bos: true });
  const ids = [...c, ...whole.slice(c.length)].slice(-(m.config.maxSeqLen + 1));
  const [r] = await scoreSequences(m, [{ ids, start: ids.length - (whole.length - c.length) }], { batchSize: 1 });
  return r.sum;
}

describe('evaluate on stories260K (cpu)', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    m = loadStories();
  });

  it('2 tasks × 5 items: finite negative logliks equal to separately scored sequences', async () => {
    const progress: string[] = [];
    const report = await evaluate(m, [kobestSentineg, kobestCopa], {
      source,
      limit: 5,
      seed: 7,
      onProgress: (p) => progress.push(`${p.task}:${p.done}/${p.total}`),
    });
    expect(Object.keys(report.results)).toEqual(['kobest_sentineg', 'kobest_copa']);
    expect(progress).toContain('kobest_sentineg:5/5');
    expect(progress).toContain('kobest_copa:5/5');

    const sn = rawRows('kobest/sentineg.test.jsonl', 5);
    const cp = rawRows('kobest/copa.test.jsonl', 5);
    const cases: [string, string, string[], number][] = [
      ...sn.map(
        (r) =>
          ['kobest_sentineg', `문장: ${r.Text} 긍부정:`, ['부정', '긍정'], Number(r.Label)] as [
            string,
            string,
            string[],
            number,
          ],
      ),
      ...cp.map(
        (r) =>
          [
            'kobest_copa',
            `${r.sentence}  ${r.question === '원인' ? '왜냐하면' : '그래서'}`,
            [r['1'], r['2']],
            Number(r.Answer) - 1,
          ] as [string, string, string[], number],
      ),
    ];
    const seen = { kobest_sentineg: 0, kobest_copa: 0 } as Record<string, number>;
    for (const [task, context, choices, gold] of cases) {
      const res = report.results[task];
      const item = res.items[seen[task]++];
      expect(item.gold).toBe(gold);
      expect(item.loglik).toHaveLength(2);
      for (let c = 0; c < 2; c++) {
        const ll = item.loglik[c];
        expect(Number.isFinite(ll)).toBe(true);
        expect(ll).toBeLessThan(0);
        expect(Math.abs(ll - (await separateLoglik(m, context, choices[c])))).toBeLessThan(1e-3);
      }
      expect(item.pred).toBe(item.loglik[0] >= item.loglik[1] ? 0 : 1);
    }
    for (const task of ['kobest_sentineg', 'kobest_copa']) {
      const r = report.results[task];
      expect(r.n).toBe(5);
      expect(r.seed).toBe(7);
      expect(r.shots).toBe(0);
      const acc = r.items.filter((i) => i.pred === i.gold).length / 5;
      expect(r.acc).toBeCloseTo(acc, 12);
    }
  });

  it('1-shot: the shot text precedes the context, seed recorded, cancellation rejects', async () => {
    const report = await evaluate(m, [kobestSentineg], { source, limit: 2, shots: 1, seed: 3 });
    const r = report.results.kobest_sentineg;
    expect(r.shots).toBe(1);
    expect(r.seed).toBe(3);
    expect(r.fewshot_split).toBe('train');
    expect(r.items[0].shots).toHaveLength(1);
    const train = rawRows('kobest/sentineg.train.jsonl', Infinity);
    const shot = train[r.items[0].shots![0]];
    const test = rawRows('kobest/sentineg.test.jsonl', 1)[0];
    const ctx = `문장: ${shot.Text} 긍부정: ${['부정', '긍정'][Number(shot.Label)]}\n\n문장: ${test.Text} 긍부정:`;
    expect(Math.abs(r.items[0].loglik[1] - (await separateLoglik(m, ctx, '긍정')))).toBeLessThan(1e-3);

    const ac = new AbortController();
    ac.abort();
    await expect(evaluate(m, [kobestSentineg], { source, limit: 2, signal: ac.signal })).rejects.toThrow(/cancelled/);
  });

  it('keepOnAbort: a cancel during the second task keeps the first and says where it stopped', async () => {
    const ac = new AbortController();
    const report = await evaluate(m, [kobestSentineg, kobestCopa], {
      source,
      limit: 3,
      signal: ac.signal,
      keepOnAbort: true,
      itemsPerCall: 1,
      onProgress: (p) => {
        if (p.task === 'kobest_copa' && p.done === 1) ac.abort();
      },
    });
    expect(Object.keys(report.results)).toEqual(['kobest_sentineg']);
    expect(report.results.kobest_sentineg.n).toBe(3);
    expect(report.cancelled).toEqual({ task: 'kobest_copa', done: 1, total: 3, skipped: [] });
    // cancelled within the first task: nothing finished, so it rejects as before
    const first = new AbortController();
    const during = evaluate(m, [kobestSentineg, kobestCopa], {
      source,
      limit: 3,
      signal: first.signal,
      keepOnAbort: true,
      itemsPerCall: 1,
      onProgress: (p) => p.done === 1 && first.abort(),
    });
    await expect(during).rejects.toThrow(/cancelled/);
  });

  it('perplexity over TinyStories paragraphs = exp(mean NLL of every token after BOS)', async () => {
    const text = decodeDataBytes(
      new Uint8Array(readFileSync(resolve(ROOT, 'public/data/english/tinystories.dev_paragraphs.jsonl.gz'))),
    );
    const paras = paragraphsFromJsonl(text, 'tinystories').slice(0, 2);
    const r = await perplexity(m, paras);
    let nll = 0;
    let n = 0;
    for (const p of paras) {
      const ids = m.tokenizer.encode(p, { bos: true });
      const [s] = await scoreSequences(m, [{ ids, start: 1 }], { batchSize: 1 });
      nll -= s.sum;
      n += ids.length - 1;
    }
    expect(r.tokens).toBe(n);
    expect(r.perplexity).toBeCloseTo(Math.exp(nll / n), 3);
    // stories260K was trained on TinyStories: held-out perplexity is far below the uniform 512
    expect(r.perplexity).toBeLessThan(20);
  });
});
