/**
 * Language fidelity after vocabulary extension + continued pretraining + CLO, through the CLI
 * (docs/choices.md, "Fidelity after pt + CLO"): stories260K extended with the bundled Korean corpus
 * answers the bundled Korean fidelity prompts in English stories (share 0); after `pt` on Korean
 * text and `clo` on the bundled en–ko pairs, greedy answers contain Hangul and the Korean share rises.
 * Small step counts (the measured run in the doc uses more).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT } from '../helpers/helpers';
import { run as vocab } from '../../cli/commands/vocab';
import { run as train } from '../../cli/commands/train';
import { run as evalCmd } from '../../cli/commands/eval';
import { corpusTexts, DEFAULT_CORPUS_FILES } from '../../src/lib/vocab/corpus';
import { isHangul } from '../../src/lib/eval/fidelity';

interface Fidelity {
  ko: { n: number; share: number };
  items: { lang: string; text: string; inLanguage: boolean }[];
}

/** Runs a CLI command in this process; returns its exit code and stdout (stderr kept for failures). */
async function cli(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const l = vi.spyOn(console, 'log').mockImplementation((...s) => void (out += s.join(' ') + '\n'));
  try {
    const code = await fn(argv);
    if (code !== 0)
      throw new Error(`${argv.join(' ')} → exit ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
    return { code, out };
  } finally {
    o.mockRestore();
    e.mockRestore();
    l.mockRestore();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'vocab-fidelity-'));
const PAIRS = resolve(ROOT, 'public/data/instructions/paired_alpaca_koalpaca_en_ko.jsonl');
const BACKEND = ['--backend', 'wasm'];
// pt: new rows only; CLO: LoRA + new rows, mostly the Korean NLL term (docs/choices.md has the measured run)
const PT_STEPS = '100';
const PT_LR = '3e-2';
const CLO_STEPS = '60';
const CLO_LR = '1e-2';
const CLO_LAMBDA = '0.9';
const fidelity = async (model: string, adapter?: string): Promise<Fidelity> => {
  const r = await cli(evalCmd, [
    '--model',
    model,
    ...(adapter ? ['--adapter', adapter] : []),
    '--fidelity',
    '--max-new-tokens',
    '24',
    ...BACKEND,
    '--json',
  ]);
  return JSON.parse(r.out.trim().split('\n').pop()!).fidelity as Fidelity;
};
const hasHangul = (s: string) => [...s].some((c) => isHangul(c.codePointAt(0)!));

describe('fidelity after vocabulary extension, pt and CLO (CLI)', () => {
  let before: Fidelity;
  let after: Fidelity;
  beforeAll(async () => {
    const text = join(tmp, 'ko.txt');
    const texts = DEFAULT_CORPUS_FILES.flatMap((f) => corpusTexts(readFileSync(resolve(ROOT, 'public', f), 'utf8'), f));
    writeFileSync(text, texts.map((t) => t.replace(/\s*\n\s*/g, ' ')).join('\n') + '\n');
    const ext = join(tmp, 'ext');
    await cli(vocab, ['--add', '1024', '--init', 'salt', '--out', ext, ...BACKEND]);
    before = await fidelity(ext);
    // prettier-ignore
    await cli(train, ['--model', ext, '--objective', 'pt', '--train-embeddings', 'new', '--lora-targets', 'none',
      '--data', text, '--steps', PT_STEPS, '--batch-size', '4', '--max-seq-len', '128', '--lr', PT_LR,
      '--warmup-steps', '5', '--checkpoint-every', '0', '--out', join(tmp, 'pt'), ...BACKEND]);
    // prettier-ignore
    await cli(train, ['--model', join(tmp, 'pt', 'model'), '--objective', 'clo', '--lambda', CLO_LAMBDA,
      '--train-embeddings', 'new', '--data', PAIRS, '--steps', CLO_STEPS, '--batch-size', '2', '--max-seq-len', '128',
      '--lr', CLO_LR, '--skip-bad-rows', '--checkpoint-every', '0', '--out', join(tmp, 'clo'), ...BACKEND]);
    after = await fidelity(join(tmp, 'clo', 'model'), join(tmp, 'clo'));
  }, 900_000);

  it('before: no Korean answer to the Korean prompts', () => {
    expect(before.ko.n).toBe(8);
    expect(before.ko.share).toBe(0);
  });

  it('after pt + CLO: answers contain Hangul and the Korean share rises', () => {
    const ko = after.items.filter((i) => i.lang === 'ko');
    expect(ko.filter((i) => hasHangul(i.text)).length, JSON.stringify(ko.map((i) => i.text))).toBeGreaterThan(0);
    expect(after.ko.share).toBeGreaterThan(before.ko.share);
  });
});
