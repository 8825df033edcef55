/**
 * Lazy tokenization (train/train-items.ts): rows tokenized as batches need them give the
 * same items in the same order as tokenizing every row up front, so the same batches and losses for
 * the same seed; unusable rows are listed once and their draw goes to the next usable row; the cache
 * of tokenized rows stays within its bound; `auto` picks lazy above EAGER_MAX_CHARS.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SftRow, TrainRow } from '../../src/lib/data/rows';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { EAGER_MAX_CHARS, trainItems } from '../../src/lib/train/train-items';
import { EpochSampler } from '../../src/lib/train/sampler';
import { getObjective } from '../../src/lib/objectives';
import type { LoadedModel } from '../../src/lib/model/model';
import { loadStories } from '../helpers/helpers';

const WORDS = ['Once', 'upon', 'a', 'time', 'Lily', 'saw', 'a', 'big', 'red', 'ball', 'the', 'dog', 'ran', 'home'];
const sft = (i: number): SftRow => ({
  kind: 'sft',
  prompt: `${WORDS[i % WORDS.length]} ${WORDS[(i * 3) % WORDS.length]} ${i}`,
  response: ` ${WORDS[(i * 5) % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]}.`,
});
const ROWS: TrainRow[] = Array.from({ length: 13 }, (_, i) => sft(i));

let m: LoadedModel;
beforeAll(async () => {
  await tf.setBackend('cpu');
  m = loadStories();
});

const cfg = (over = {}) =>
  defaultTrainConfig('sft', {
    steps: 3,
    batchSize: 3,
    maxSeqLen: 32,
    lr: 5e-3,
    seed: 5,
    lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
    ...over,
  });

describe('lazy tokenization', () => {
  it('draws the same sequences as the eager path, position by position, over several epochs', () => {
    for (const name of ['sft', 'clo', 'pt'] as const) {
      const obj = getObjective(name);
      const rows: TrainRow[] =
        name === 'clo'
          ? ROWS.map((r, i) => ({
              kind: 'clo',
              xEn: (r as SftRow).prompt,
              yEn: (r as SftRow).response,
              xTgt: `${i} ko`,
              yTgt: ` ko ${i}.`,
              lang: 'ko',
            }))
          : ROWS;
      const eager = trainItems(obj, m.tokenizer, rows, 32, 'eager');
      const lazy = trainItems(obj, m.tokenizer, rows, 32, 'lazy');
      expect([eager.lazy, lazy.lazy]).toEqual([false, true]);
      expect(lazy.count).toBe(eager.count);
      const sampler = new EpochSampler(eager.count, 9);
      for (let b = 0; b < 20; b++)
        sampler.batch(b, 3).forEach((r, k) => {
          expect(lazy.seqs(r, b * 3 + k), `${name} batch ${b}`).toEqual(eager.seqs(r, b * 3 + k));
        });
      expect(lazy.skipped).toEqual([]);
    }
  });

  it('trains to the same losses as the eager path for the same seed', async () => {
    const losses = async (tokenize: 'eager' | 'lazy') => {
      const t = Trainer.create(m, ROWS, cfg(), undefined, undefined, { tokenize });
      expect(t.lazyTokenization).toBe(tokenize === 'lazy');
      while (!t.done) await t.step();
      t.dispose();
      return t.metrics.map((x) => x.loss);
    };
    const eager = await losses('eager');
    expect(eager.every(Number.isFinite)).toBe(true);
    expect(await losses('lazy')).toEqual(eager);
  }, 60_000);

  it('lists an unusable row once and draws the next usable row in its place', () => {
    const long: SftRow = { kind: 'sft', prompt: 'a', response: ' word'.repeat(200) };
    const rows: TrainRow[] = [sft(0), long, sft(2), { kind: 'preference', prompt: 'p', chosen: 'c', rejected: 'r' }];
    const lazy = trainItems(getObjective('sft'), m.tokenizer, rows, 32, 'lazy');
    const eager = trainItems(getObjective('sft'), m.tokenizer, rows, 32, 'eager');
    expect(lazy.seqs(1, 1)).toEqual(eager.seqs(1, 0)); // row 2 (index 1) is too long: row 3 instead
    expect(lazy.seqs(1, 5)).toEqual(eager.seqs(1, 0)); // listed once, not tokenized again
    expect(lazy.seqs(3, 3)).toEqual(eager.seqs(0, 0)); // row 4 (a preference row) wraps to row 1
    expect(lazy.skipped.map((s) => s.line)).toEqual([2, 4]);
    expect(lazy.skipped[0].message).toMatch(/more than max_seq_len 32/);
    expect(lazy.skipped.map((s) => s.message)).toEqual(eager.skipped.map((s) => s.message));
    expect(lazy.usable).toBe(2);
    const none = trainItems(getObjective('sft'), m.tokenizer, [long], 32, 'lazy');
    expect(() => none.seqs(0, 0)).toThrow(/no usable rows for sft: 1 skipped \(row 1: response has/);
  });

  it('a pt row of several windows gives window (epoch mod windows)', () => {
    const text: SftRow = { kind: 'sft', prompt: '', response: 'Once upon a time there was a big dog. '.repeat(6) };
    const eager = trainItems(getObjective('pt'), m.tokenizer, [text], 16, 'eager');
    const lazy = trainItems(getObjective('pt'), m.tokenizer, [text], 16, 'lazy');
    expect(eager.count).toBeGreaterThan(3);
    for (let e = 0; e < 2 * eager.count; e++) expect(lazy.seqs(0, e)).toEqual(eager.seqs(e % eager.count, e));
  });

  it('keeps the cache of tokenized rows within its bound', () => {
    const rows = Array.from({ length: 200 }, (_, i) => sft(i));
    const lazy = trainItems(getObjective('sft'), m.tokenizer, rows, 32, 'lazy', 200);
    for (let i = 0; i < 200; i++) lazy.seqs(i, i);
    const use = (lazy as unknown as { cacheUse: { rows: number; ids: number } }).cacheUse;
    expect(use.rows).toBeGreaterThan(5);
    expect(use.rows).toBeLessThan(50);
    expect(use.ids).toBeLessThanOrEqual(200);
  });

  it('auto: tokenizes up front up to EAGER_MAX_CHARS characters, lazily above', () => {
    const obj = getObjective('sft');
    expect(trainItems(obj, m.tokenizer, ROWS, 32).lazy).toBe(false);
    const big = { length: ROWS.length, chars: EAGER_MAX_CHARS + 1, get: (i: number) => ROWS[i] };
    expect(trainItems(obj, m.tokenizer, big, 32).lazy).toBe(true);
    expect(trainItems(obj, m.tokenizer, { ...big, chars: EAGER_MAX_CHARS }, 32).lazy).toBe(false);
  });
});
