import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { ROOT, loadStories } from '../helpers/helpers';
import {
  languageFidelity,
  limitPerLanguage,
  parseFidelityPrompts,
  retentionDelta,
  summarizeFidelity,
  type FidelityPrompt,
} from '../../src/lib/eval/retention';

import { retentionRows } from '../../src/ui/views/retention-rows';
import type { RetentionRecord } from '../../src/lib/eval/results-store';

const run = promisify(execFile);

describe('fidelity aggregation (docs/methods.md §5)', () => {
  it('per-language share of generations whose letters are mostly in the prompt language script', () => {
    const s = summarizeFidelity([
      { id: 'k1', lang: 'ko', text: '안녕하세요 반갑습니다' }, // all Hangul → in language
      { id: 'k2', lang: 'ko', text: 'Once upon a time 옛날' }, // 2 of 15 letters Hangul → not
      { id: 'k3', lang: 'ko', text: '좋아요 ok' }, // 3 of 5 → in language
      { id: 'e1', lang: 'en', text: 'Lily went to the park.' },
      { id: 'e2', lang: 'en', text: '...' }, // no letters → not
    ]);
    expect(s.ko).toEqual({ n: 3, share: 2 / 3, degenerate: 0 });
    expect(s.en).toEqual({ n: 2, share: 0.5, degenerate: 0 });
    expect(s.items.map((i) => i.inLanguage)).toEqual([true, false, true, true, false]);
  });

  it('reports the degenerate share beside the in-language share', () => {
    const s = summarizeFidelity([
      { id: 'e1', lang: 'en', text: '"BTTTTTTTTTTTTTTTTTTTTTTT' }, // Latin letters, and a loop
      { id: 'e2', lang: 'en', text: 'Lily went to the park with her mom.' },
      { id: 'k1', lang: 'ko', text: '옛날 옛날 옛날 옛날 옛날 옛날 옛날' },
    ]);
    expect(s.en).toEqual({ n: 2, share: 1, degenerate: 0.5 });
    expect(s.ko).toEqual({ n: 1, share: 1, degenerate: 1 });
    expect(s.items.map((i) => i.degenerate)).toEqual([true, false, true]);
  });

  it('no prompts of a language: share is null', () => {
    expect(summarizeFidelity([{ id: 'e', lang: 'en', text: 'hi' }]).ko).toEqual({
      n: 0,
      share: null,
      degenerate: null,
    });
  });

  it('before/after deltas are run − base, null where a side is missing', () => {
    const base = {
      perplexity: { n: 20, tokens: 100, ppl: 4, nll: Math.log(4) },
      fidelity: { ko: { n: 8, share: 0 }, en: { n: 8, share: 1 }, items: [] },
    };
    const runRes = {
      perplexity: { n: 20, tokens: 100, ppl: 5.5, nll: Math.log(5.5) },
      fidelity: { ko: { n: 8, share: 0.25 }, en: { n: 8, share: 0.875 }, items: [] },
    };
    expect(retentionDelta(base, runRes)).toEqual({ ppl: 1.5, ko: 0.25, en: -0.125 });
    expect(retentionDelta({ perplexity: null, fidelity: base.fidelity }, runRes)).toEqual({
      ppl: null,
      ko: 0.25,
      en: -0.125,
    });
  });

  it('table rows: newest measurement per model, base first, deltas against the base', () => {
    const rec = (
      id: string,
      createdAt: number,
      base: boolean,
      ppl: number | null,
      ko: number | null,
    ): RetentionRecord => ({
      id,
      createdAt,
      label: base ? 'stories260K (base)' : 'run-a @ step 10',
      subject: base ? { kind: 'base' } : { kind: 'run', runId: 'a', runName: 'run-a', step: 10 },
      model: 'stories260K',
      backend: 'cpu',
      limit: 20,
      maxNewTokens: 48,
      ms: 1,
      perplexity: ppl === null ? null : { n: 20, tokens: 99, ppl, nll: Math.log(ppl) },
      fidelity: ko === null ? null : { ko: { n: 8, share: ko }, en: { n: 8, share: 1 }, items: [] },
    });
    // newest first, as the store lists them; the run's older record holds its only fidelity
    const rows = retentionRows([
      rec('r2', 4, false, 4.5, null),
      rec('b2', 3, true, 4, null),
      rec('r1', 2, false, 9, 0.5),
      rec('b1', 1, true, 8, 0),
    ]);
    expect(rows.map((r) => r.label)).toEqual(['stories260K (base)', 'run-a @ step 10']);
    expect(rows[0].delta).toBeNull();
    expect(rows[0].perplexity?.ppl).toBe(4);
    expect(rows[1].perplexity?.ppl).toBe(4.5);
    expect(rows[1].delta).toEqual({ ppl: 0.5, ko: 0.5, en: 0 });
  });

  it('parses the bundled prompts: 8 ko + 8 en in the Alpaca template; limit is per language', () => {
    const file = resolve(ROOT, 'public/data/fidelity/prompts.jsonl');
    const prompts = parseFidelityPrompts(readFileSync(file, 'utf8'), file);
    expect(prompts.filter((p) => p.lang === 'ko')).toHaveLength(8);
    expect(prompts.filter((p) => p.lang === 'en')).toHaveLength(8);
    for (const p of prompts) expect(p.prompt).toMatch(/^### Instruction:\n.+\n\n### Response:\n$/s);
    expect(new Set(prompts.map((p) => p.id)).size).toBe(16);
    const two = limitPerLanguage(prompts, 1);
    expect(two.map((p) => p.lang)).toEqual(['ko', 'en']);
    expect(() => parseFidelityPrompts('{"id":"a","lang":"ja","prompt":"x"}\n', 'f.jsonl')).toThrow(
      /f\.jsonl line 1: field "lang"/,
    );
  });

  it('stories260K on cpu: greedy generations, English prompt answered in English', async () => {
    await tf.setBackend('cpu');
    const model = loadStories();
    const prompts: FidelityPrompt[] = [
      { id: 'ko', lang: 'ko', prompt: '### Instruction:\n이야기를 써 주세요.\n\n### Response:\n' },
      { id: 'en', lang: 'en', prompt: '### Instruction:\nWrite a story about a cat.\n\n### Response:\n' },
    ];
    const seen: number[] = [];
    const r = await languageFidelity(model, prompts, { maxNewTokens: 8, onProgress: (d) => seen.push(d) });
    expect(seen).toEqual([0, 1, 2]);
    expect(r.items.map((i) => [i.id, i.lang])).toEqual([
      ['ko', 'ko'],
      ['en', 'en'],
    ]);
    expect(r.ko.n).toBe(1);
    expect(r.en).toEqual({ n: 1, share: 1, degenerate: 0 });
    expect(r.items[1].text).toMatch(/[A-Za-z]/);
    const ac = new AbortController();
    ac.abort();
    await expect(languageFidelity(model, prompts, { signal: ac.signal })).rejects.toThrow(/cancelled/);
  });
});

describe('lab eval --perplexity / --fidelity (child process)', () => {
  const lab = (args: string[]) =>
    run(
      process.execPath,
      ['cli/launch.mjs', 'cli/lab.ts', 'eval', '--model', 'stories260K', '--backend', 'cpu', '--json', ...args],
      { cwd: ROOT, timeout: 60_000 },
    );

  it('--perplexity --limit 5: finite ppl > 1, ppl = exp(nll), no task results', async () => {
    const { stdout } = await lab(['--perplexity', '--limit', '5']);
    const doc = JSON.parse(stdout);
    expect(doc.results).toEqual({});
    expect(doc.perplexity.n).toBe(5);
    expect(doc.perplexity.tokens).toBeGreaterThan(5);
    expect(Number.isFinite(doc.perplexity.ppl)).toBe(true);
    expect(doc.perplexity.ppl).toBeGreaterThan(1);
    expect(doc.perplexity.ppl).toBeCloseTo(Math.exp(doc.perplexity.nll), 9);
    expect(doc.fidelity).toBeUndefined();
  }, 60_000);

  it('--fidelity --limit 1 --max-new-tokens 8: one prompt per language', async () => {
    const { stdout } = await lab(['--fidelity', '--limit', '1', '--max-new-tokens', '8']);
    const doc = JSON.parse(stdout);
    expect(doc.perplexity).toBeUndefined();
    expect(doc.fidelity.ko.n).toBe(1);
    expect(doc.fidelity.en.n).toBe(1);
    expect(doc.fidelity.items.map((i: { id: string }) => i.id)).toEqual(['ko-335', 'en-seed_task_6']);
    expect(doc.fidelity.en.share).toBe(1);
  }, 60_000);
});
