/**
 * `vocab` command in-process: bad input → one line naming the file and nothing written; a donor run
 * writes a Hugging Face folder that the lab and Hugging Face transformers load with the same tokens and scores.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ROOT, SHARED } from '../helpers/helpers';
import { run } from '../../cli/commands/vocab';
import { loadModelArg } from '../../cli/node-env';
import { scoreSequences } from '../../src/lib/model/score';
import { writeSafetensors } from '../../src/lib/formats/safetensors';
import { mulberry32, gaussian } from '../../src/lib/model/sample';

const tmp = mkdtempSync(join(tmpdir(), 'vocab-cli-'));
const KOELECTRA = resolve(SHARED, 'models/koelectra-v1-vocab/vocab.txt');
const corpus = join(tmp, 'corpus.jsonl');
const empty = join(tmp, 'empty.txt');

async function vocab(args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = '';
  let out = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  try {
    const code = await run(['--backend', 'cpu', ...args]);
    return { code, err, out };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

function donorMatrix(path: string, rows: number, dim: number): void {
  const rng = mulberry32(7);
  const data = new Float32Array(rows * dim);
  for (let i = 0; i < data.length; i++) data[i] = gaussian(rng);
  writeFileSync(path, writeSafetensors({ 'embeddings.word_embeddings.weight': { shape: [rows, dim], data } }));
}

describe('vocab command', () => {
  const koRows = readFileSync(resolve(ROOT, 'public/data/instructions/ko_chatbot_300.jsonl'), 'utf8')
    .split('\n')
    .slice(0, 200)
    .join('\n');
  const nVocab = readFileSync(KOELECTRA, 'utf8')
    .split('\n')
    .filter((l, i, a) => i < a.length - 1 || l).length;
  beforeAll(() => {
    writeFileSync(corpus, koRows + '\n');
    writeFileSync(empty, '\n\n');
    donorMatrix(join(tmp, 'donor.safetensors'), nVocab, 16);
    donorMatrix(join(tmp, 'small.safetensors'), 100, 16);
    writeFileSync(join(tmp, 'corrupt.safetensors'), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    writeFileSync(join(tmp, 'nomatch.txt'), Array.from({ length: nVocab }, (_, i) => `zz${i}`).join('\n') + '\n');
    // a donor whose tensor is not a [vocab, dim] matrix (1-D)
    writeFileSync(
      join(tmp, 'oned.safetensors'),
      writeSafetensors({
        'embeddings.word_embeddings.weight': { shape: [nVocab * 16], data: new Float32Array(nVocab * 16) },
      }),
    );
    writeFileSync(join(tmp, 'broken-tokenizer.json'), '{"model": {"vocab": {"a": 0,');
    writeFileSync(join(tmp, 'empty-vocab.txt'), '');
  });
  afterEach(() => vi.restoreAllMocks());

  const bad: [string, string[], RegExp][] = [
    ['empty corpus', ['--corpus', empty], /empty\.txt: empty corpus/],
    ['--add 0', ['--corpus', corpus, '--add', '0'], /--add/],
    [
      'more tokens than the corpus gives',
      ['--corpus', corpus, '--add', '20000'],
      /corpus\.jsonl: the corpus gives only \d+ new tokens/,
    ],
    [
      'donor rows do not match its vocabulary',
      ['--corpus', corpus, '--donor', join(tmp, 'small.safetensors'), '--donor-vocab', KOELECTRA],
      /small\.safetensors: .*100 rows but .*vocab\.txt lists/,
    ],
    [
      'donor vocabulary matches nothing',
      [
        '--corpus',
        corpus,
        '--add',
        '96',
        '--donor',
        join(tmp, 'donor.safetensors'),
        '--donor-vocab',
        join(tmp, 'nomatch.txt'),
      ],
      /nomatch\.txt: no donor token matches/,
    ],
    [
      'donor without a 2-D embedding matrix',
      ['--corpus', corpus, '--donor', join(tmp, 'oned.safetensors'), '--donor-vocab', KOELECTRA],
      /oned\.safetensors: no 2-D tensor/,
    ],
    [
      'corrupt donor vocabulary (tokenizer.json)',
      [
        '--corpus',
        corpus,
        '--donor',
        join(tmp, 'donor.safetensors'),
        '--donor-vocab',
        join(tmp, 'broken-tokenizer.json'),
      ],
      /broken-tokenizer\.json: invalid JSON/,
    ],
    [
      'empty donor vocabulary',
      ['--corpus', corpus, '--donor', join(tmp, 'donor.safetensors'), '--donor-vocab', join(tmp, 'empty-vocab.txt')],
      /empty-vocab\.txt: empty vocabulary/,
    ],
    [
      'corrupt donor',
      ['--corpus', corpus, '--donor', join(tmp, 'corrupt.safetensors'), '--donor-vocab', KOELECTRA],
      /corrupt\.safetensors/,
    ],
  ];
  for (const [name, args, re] of bad) {
    it(`bad input: ${name} → one line naming the file, nothing written`, async () => {
      const out = join(tmp, `out-${name.replace(/\W+/g, '-')}`);
      const r = await vocab([...args, '--out', out]);
      expect(r.code).toBeGreaterThan(0);
      const lines = r.err
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('backend:') && !/^\w+: \d+\/\d+$/.test(l)); // progress lines aside
      expect(lines).toHaveLength(1);
      expect(lines[0], lines[0]).toMatch(re);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('SALT with a donor (KoELECTRA vocabulary) writes a folder the lab and HF transformers load with the same tokens and scores', async () => {
    await tf.setBackend('cpu');
    const out = join(tmp, 'salt-donor');
    const r = await vocab([
      '--corpus',
      corpus,
      '--add',
      '96',
      '--init',
      'salt',
      '--donor',
      join(tmp, 'donor.safetensors'),
      '--donor-vocab',
      KOELECTRA,
      '--out',
      out,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ added: 96, vocab_size: 608, init: 'salt' });
    expect(j.tokens_per_char_after).toBeLessThan(j.tokens_per_char_before);
    const report = JSON.parse(readFileSync(join(out, 'vocab.json'), 'utf8'));
    expect(report.embed_init.fromNeighbours).toBeGreaterThan(48); // most new tokens found in the KoELECTRA vocabulary
    const model = await loadModelArg(out);
    expect(model.config.vocabSize).toBe(608);
    const texts = [
      '옛날 옛적에 작은 마을에 한 소녀가 살았습니다. 시간을 정하고 해보세요.',
      'Once upon a time there was a cat.',
    ];
    const py = execFileSync('python3', [resolve(ROOT, 'tests/python/vocab_hf_check.py'), out, ...texts], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const ref = JSON.parse(py.trim().split('\n').pop()!);
    for (const t of texts) {
      const ids = model.tokenizer.encode(t);
      expect(ids).toEqual(ref[t].ids);
      const [s] = await scoreSequences(model, [{ ids, start: 1 }]);
      expect(Math.abs(s.sum - ref[t].logprob)).toBeLessThan(1e-3 * Math.max(1, Math.abs(s.sum)));
    }
  });
});
