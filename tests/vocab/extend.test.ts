import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadStories, ROOT } from '../helpers/helpers';
import { corpusTexts, DEFAULT_CORPUS_FILES, HELDOUT_FILES } from '../../src/lib/vocab/corpus';
import { extendModel, type ExtendResult } from '../../src/lib/vocab/extend-model';
import { extendHfTokenizerJson } from '../../src/lib/vocab/extend-hf';
import { tokensPerChar } from '../../src/lib/eval/bits-per-char';
import { scoreSequences } from '../../src/lib/model/score';
import { forward } from '../../src/lib/model/forward';
import { Tok512Tokenizer } from '../../src/lib/tokenizer/tok512';
import { HfTokenizer } from '../../src/lib/tokenizer/hf';
import { tok512ToHfTokenizer } from '../../src/lib/formats/tok512-to-hf';
import type { LoadedModel } from '../../src/lib/model/model';

const read = (f: string) => corpusTexts(readFileSync(resolve(ROOT, 'public', f), 'utf8'), f);
const ENGLISH = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside.',
  'The dog ran to the park and played with a red ball!',
  'Tom said, "I am happy." 123 + 45 = 168; email: a@b.c',
];

describe('vocabulary extension of stories260K with the bundled Korean corpus', () => {
  let base: LoadedModel;
  let ext: ExtendResult;
  let corpus: string[];
  let heldout: string[];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    base = loadStories();
    corpus = DEFAULT_CORPUS_FILES.flatMap(read);
    heldout = HELDOUT_FILES.flatMap(read);
    ext = await extendModel(base, corpus, { add: 1024, init: 'random', seed: 0 });
  });

  it('adds 1,024 new pieces after the old ids, none duplicating an old piece', () => {
    const old = base.tokenizer as Tok512Tokenizer;
    const tok = ext.model.tokenizer as Tok512Tokenizer;
    expect(tok.vocabSize).toBe(512 + 1024);
    expect(ext.model.config.vocabSize).toBe(1536);
    expect(ext.newIds[0]).toBe(512);
    expect(new Set(tok.pieces).size).toBe(tok.pieces.length - (old.pieces.length - new Set(old.pieces).size));
    for (let i = 0; i < 512; i++) expect(tok.pieces[i]).toBe(old.pieces[i]);
  });

  it('drops tokens per character of held-out Korean from about 2.4 to at most 1.2', () => {
    // held-out: KULLM's Korean Self-Instruct rows, not among the files the tokens were learned from
    for (const f of HELDOUT_FILES) expect(DEFAULT_CORPUS_FILES).not.toContain(f);
    const before = tokensPerChar((t) => base.tokenizer.encode(t, { bos: false }), heldout);
    const after = tokensPerChar((t) => ext.model.tokenizer.encode(t, { bos: false }), heldout);
    expect(before).toBeGreaterThan(2);
    expect(after).toBeLessThanOrEqual(1.2);
  });

  it('round-trips every line of the Korean corpus', () => {
    const tok = ext.model.tokenizer;
    let bad = 0;
    for (const t of [...corpus, ...heldout]) if (tok.decode(tok.encode(t)) !== t) bad++;
    expect(bad).toBe(0);
  });

  it("English: identical token ids, identical logits on every old id (within 1e-5); log-probs differ only by the new tokens' share of the softmax", async () => {
    for (const t of ENGLISH) expect(ext.model.tokenizer.encode(t)).toEqual(base.tokenizer.encode(t));
    for (const t of ENGLISH) {
      const ids = base.tokenizer.encode(t);
      const x = tf.tensor2d([ids], [1, ids.length], 'int32');
      const lb = forward(base, x);
      const le = forward(ext.model, x);
      const oldPart = tf.slice(le, [0, 0, 0], [1, ids.length, 512]);
      const maxDiff = (await tf.max(tf.abs(tf.sub(lb, oldPart))).data())[0];
      expect(maxDiff).toBeLessThan(1e-5);
      // log p_ext(t) − log p_base(t) = lse(old logits) − lse(all logits) at every position, exactly
      const a = await scoreSequences(base, [{ ids, start: 1 }]);
      const b = await scoreSequences(ext.model, [{ ids, start: 1 }]);
      const leak = tf.sum(tf.sub(tf.logSumExp(lb, -1), tf.logSumExp(le, -1)).slice([0, 0], [1, ids.length - 1]));
      expect(b[0].sum - a[0].sum).toBeCloseTo((await leak.data())[0], 4);
      tf.dispose([x, lb, le, oldPart, leak]);
    }
  });

  it('keeps the shared rows bit-for-bit', async () => {
    const old = (await base.weights.embed.data()) as Float32Array;
    const neu = (await ext.model.weights.embed.data()) as Float32Array;
    expect(
      Buffer.from(neu.buffer, 0, old.byteLength).equals(Buffer.from(old.buffer, old.byteOffset, old.byteLength)),
    ).toBe(true);
  });

  it('extends a Hugging Face tokenizer.json (vocab + merges) that encodes Korean exactly like the extended tok512', () => {
    const old = base.tokenizer as Tok512Tokenizer;
    const hf = tok512ToHfTokenizer(old.pieces.map((piece, i) => ({ piece, score: old.scores[i] })));
    const r = extendHfTokenizerJson(hf.tokenizerJson, ext.learned, 512);
    expect(r.mode).toBe('merges');
    expect(r.newIds).toEqual(ext.newIds);
    const tok = new HfTokenizer(r.tokenizerJson, hf.tokenizerConfig);
    const baseHf = new HfTokenizer(hf.tokenizerJson, hf.tokenizerConfig);
    let same = 0;
    const sample = heldout.slice(0, 200);
    for (const t of sample) if (JSON.stringify(tok.encode(t)) === JSON.stringify(ext.model.tokenizer.encode(t))) same++;
    expect(same).toBe(sample.length);
    for (const t of ENGLISH) expect(tok.encode(t)).toEqual(baseHf.encode(t));
  });

  it('falls back to added tokens for a tokenizer without byte-fallback BPE', () => {
    const wp = {
      model: { type: 'WordPiece', vocab: { '[UNK]': 0, a: 1 } },
      added_tokens: [{ id: 2, content: '[CLS]' }],
    };
    const r = extendHfTokenizerJson(
      wp,
      [
        { piece: '안', count: 3 },
        { piece: ' 안녕', merge: [' 안', '녕'], count: 2 },
      ],
      0,
    );
    expect(r.mode).toBe('added_tokens');
    expect(r.newIds).toEqual([3, 4]);
  });
});
