/**
 * The headless runner's contract (docs/cli.md), run as real child processes:
 * bad input → one-line `error:` on stderr naming the file/row/flag and a non-zero exit;
 * `info --json` / `score --json` / `generate --json` print exactly the documented fields with the right values;
 * `--help` works for every command without its required flags.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { golden, loadStories, ROOT, STORIES_DIR } from '../helpers/helpers';
import { forward } from '../../src/lib/model/forward';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function lab(args: string[]): Promise<Run> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ['cli/launch.mjs', 'cli/lab.ts', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Run many commands, at most `width` at a time (2 shared cores). */
async function runAll(cases: Record<string, string[]>, width = 3): Promise<Record<string, Run>> {
  const names = Object.keys(cases);
  const out: Record<string, Run> = {};
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      out[name] = await lab(cases[name]);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

const COMMANDS = ['info', 'generate', 'score', 'train', 'eval', 'build-pairs', 'export'];
const PROMPT = 'Once upon a time';
const RESPONSE = ' there was a little girl.';

const dir = mkdtempSync(join(tmpdir(), 'clo-cli-errors-'));
const TOK = join(dir, 'tok512.bin');
let runs: Record<string, Run>;

beforeAll(async () => {
  const bin = readFileSync(resolve(STORIES_DIR, 'stories260K.bin'));
  copyFileSync(resolve(STORIES_DIR, 'tok512.bin'), TOK);
  writeFileSync(join(dir, 'truncated.bin'), bin.subarray(0, 50_000));
  const wrong = Buffer.from(bin);
  wrong.writeInt32LE(4, 8); // n_layers 5 → 4: the header now implies fewer bytes than the file has
  writeFileSync(join(dir, 'wrong-header.bin'), wrong);
  writeFileSync(
    join(dir, 'broken.jsonl'),
    [
      '{"x_en": "Q: hi\\nA: ", "y_en": "Hello.", "x_tgt": "Q: 안녕\\nA: ", "y_tgt": "안녕하세요.", "lang": "ko"}',
      '{"x_en": "Q: bye\\nA: ", "y_en": "Bye.", "x_tgt"',
      '{"x_en": "Q: yes\\nA: ", "y_en": "Yes.", "x_tgt": "Q: 네\\nA: ", "y_tgt": "네.", "lang": "ko"}',
    ].join('\n') + '\n',
  );
  const good = join(dir, 'broken.jsonl');
  const cases: Record<string, string[]> = {
    truncated: ['info', '--model', join(dir, 'truncated.bin'), '--tokenizer', TOK, '--backend', 'cpu'],
    wrongHeader: ['info', '--model', join(dir, 'wrong-header.bin'), '--tokenizer', TOK, '--backend', 'cpu'],
    brokenRow: [
      'train',
      '--objective',
      'clo',
      '--data',
      good,
      '--steps',
      '1',
      '--out',
      join(dir, 'out'),
      '--backend',
      'cpu',
    ],
    unknownObjective: ['train', '--objective', 'rlhf', '--data', good, '--out', join(dir, 'out')],
    unknownFlag: ['info', '--frobnicate', '3'],
    stepsNotNumber: ['train', '--objective', 'clo', '--data', good, '--steps', 'abc', '--out', join(dir, 'out')],
    info: ['info', '--json', '--backend', 'cpu'],
    score: ['score', '--json', '--prompt', PROMPT, '--response', RESPONSE, '--backend', 'cpu'],
    generate: ['generate', '--json', '--prompt', PROMPT, '--max-new-tokens', '20', '--backend', 'cpu'],
    topHelp: ['--help'],
  };
  for (const c of COMMANDS) cases[`help:${c}`] = [c, '--help'];
  runs = await runAll(cases);
}, 300_000);

/** The `error:` line: exactly one, the last stderr line, no stack trace; nothing on stdout. */
function errorLine(r: Run): string {
  expect(r.code, r.stderr).not.toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  const errs = lines.filter((l) => l.startsWith('error:'));
  expect(errs, r.stderr).toHaveLength(1);
  expect(lines[lines.length - 1]).toBe(errs[0]);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout.trim()).toBe('');
  return errs[0];
}

describe('bad input: one-line error naming the file, row or flag; non-zero exit', () => {
  it('a truncated llama2.c .bin', () => {
    const e = errorLine(runs.truncated);
    expect(e).toContain('truncated.bin');
    expect(e).toMatch(/1056540 bytes but the file has 50000/); // stories260K: 28-byte header + 264128 floats
  });

  it('a header that disagrees with the file size', () => {
    const e = errorLine(runs.wrongHeader);
    expect(e).toContain('wrong-header.bin');
    expect(e).toMatch(/layers 4/);
    expect(e).toContain('1056540');
  });

  it('a JSONL file with a broken row (train without --skip-bad-rows)', () => {
    const e = errorLine(runs.brokenRow);
    expect(e).toContain('broken.jsonl');
    expect(e).toMatch(/line 2\b/);
  });

  it('an unknown objective', () => {
    const e = errorLine(runs.unknownObjective);
    expect(runs.unknownObjective.code).toBe(2);
    expect(e).toContain('--objective');
    expect(e).toContain('rlhf');
  });

  it('an unknown flag', () => {
    const e = errorLine(runs.unknownFlag);
    expect(runs.unknownFlag.code).toBe(2);
    expect(e).toContain('--frobnicate');
  });

  it('--steps abc', () => {
    const e = errorLine(runs.stepsNotNumber);
    expect(runs.stepsNotNumber.code).toBe(2);
    expect(e).toContain('--steps');
    expect(e).toContain('abc');
  });
});

/** stdout must be exactly one JSON document. */
function json(r: Run): Record<string, unknown> {
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]);
}

describe('--json outputs (docs/cli.md)', () => {
  it('info --json has exactly {arch, n_params, vocab_size, n_layers, dim, max_seq_len, backend}', () => {
    const o = json(runs.info);
    expect(Object.keys(o).sort()).toEqual([
      'arch',
      'backend',
      'dim',
      'max_seq_len',
      'n_layers',
      'n_params',
      'vocab_size',
    ]);
    // stories260K header: dim 64, hidden 172, 5 layers, 8 heads / 4 KV heads, vocab 512, seq 512, shared classifier.
    // params = 512·64 (embedding) + 5·(64·64 + 2·64·32 + 64·64 + 3·64·172 + 2·64) + 64 = 260032
    expect(o).toEqual({
      arch: 'llama2c',
      n_params: 260032,
      vocab_size: 512,
      n_layers: 5,
      dim: 64,
      max_seq_len: 512,
      backend: 'cpu',
    });
  });

  it('score --json has exactly {sum_logprob, mean_logprob, n_tokens} and matches a log-softmax computed here', async () => {
    const o = json(runs.score);
    expect(Object.keys(o).sort()).toEqual(['mean_logprob', 'n_tokens', 'sum_logprob']);
    await tf.setBackend('cpu');
    const m = loadStories();
    const ids = m.tokenizer.encode(PROMPT + RESPONSE);
    const start = m.tokenizer.encode(PROMPT).length;
    const logits = tf.tidy(() => forward(m, tf.tensor2d([ids], [1, ids.length], 'int32')));
    const v = (await logits.data()) as Float32Array;
    logits.dispose();
    const V = m.config.vocabSize;
    let sum = 0;
    for (let t = start; t < ids.length; t++) {
      const row = v.subarray((t - 1) * V, t * V);
      let mx = -Infinity;
      for (const x of row) mx = Math.max(mx, x);
      let z = 0;
      for (const x of row) z += Math.exp(x - mx);
      sum += row[ids[t]] - mx - Math.log(z);
    }
    const n = ids.length - start;
    expect(o.n_tokens).toBe(n);
    expect(Math.abs((o.sum_logprob as number) - sum)).toBeLessThan(1e-4 * Math.abs(sum));
    expect(Math.abs((o.mean_logprob as number) - sum / n)).toBeLessThan(1e-4 * Math.abs(sum / n));
  });

  it('generate --json --prompt "Once upon a time" --max-new-tokens 20 continues like the golden reference', () => {
    const o = json(runs.generate);
    expect(Object.keys(o).sort()).toEqual(['ids', 'text']);
    const g = golden().greedy_from_prompt;
    const nPrompt = g.prompt_ids.length - 1; // ids_after_bos starts with the prompt's tokens
    expect(o.ids).toEqual(g.ids_after_bos.slice(nPrompt, nPrompt + 20));
    expect(g.text.startsWith(g.prompt + (o.text as string))).toBe(true);
    expect((o.text as string).length).toBeGreaterThan(20);
  });
});

describe('--help', () => {
  it('the dispatcher lists every command', () => {
    const r = runs.topHelp;
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(c);
  });

  it.each(COMMANDS)('%s --help prints its flags and exits 0 without the required flags', (c) => {
    const r = runs[`help:${c}`];
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/--\w/);
    expect(r.stderr).not.toMatch(/^error:/m);
  });
});
