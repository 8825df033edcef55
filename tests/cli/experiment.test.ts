/* eslint-disable @typescript-eslint/no-explicit-any -- the CLI's --json output and run.json are untyped JSON */
/**
 * `lab experiment` end to end (wasm, child processes): runs the bundled clo-vs-sft recipe for 20
 * steps (two arms, smaller batch, sequence length and evaluation limits so it fits a 2-core CI box),
 * then trains the same arms with the separate `lab train` command on the rows the experiment wrote
 * and evaluates base and adapters with `lab eval`: the report's loss curves, perplexities, fidelity
 * shares and KoBEST scores must equal theirs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/helpers';

const STEPS = 20;
const BATCH = 2;
const LEN = 96;
const LIMIT = 3;
const ARMS = ['sft-ko', 'clo-lora'];
const OBJ: Record<string, string> = { 'sft-ko': 'sft', 'clo-lora': 'clo' };
const TASKS = 'kobest_boolq,kobest_copa,kobest_sentineg';

function lab(args: string[]): { stdout: string; stderr: string; seconds: number } {
  const t0 = Date.now();
  const p = spawnSync(process.execPath, ['cli/launch.mjs', 'cli/lab.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (p.status !== 0) throw new Error(`lab ${args.join(' ')} exited ${p.status}: ${p.stderr.slice(-2000)}`);
  return { stdout: p.stdout, stderr: p.stderr, seconds: (Date.now() - t0) / 1000 };
}

let out: string;
let report: any;
let summary: any;
const trained: Record<string, any> = {};
const evals: Record<string, any> = {};
const timing: Record<string, number> = {};

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'clo-experiment-'));
  const ex = lab([
    'experiment',
    '--recipe',
    'clo-vs-sft',
    '--steps',
    String(STEPS),
    '--batch-size',
    String(BATCH),
    '--max-seq-len',
    String(LEN),
    '--eval-limit',
    String(LIMIT),
    '--arms',
    ARMS.join(','),
    '--backend',
    'wasm',
    '--out',
    join(out, 'exp'),
    '--json',
  ]);
  timing.experiment = ex.seconds;
  summary = JSON.parse(ex.stdout.trim().split('\n').pop()!);
  report = JSON.parse(readFileSync(join(out, 'exp', 'report.json'), 'utf8'));
  const evalArgs = [
    '--model',
    'stories260K',
    '--perplexity',
    '--fidelity',
    '--tasks',
    TASKS,
    '--limit',
    String(LIMIT),
    '--backend',
    'wasm',
    '--json',
  ];
  evals.base = JSON.parse(lab(['eval', ...evalArgs]).stdout);
  for (const id of ARMS) {
    const dir = join(out, 'train', id);
    const t = lab([
      'train',
      '--objective',
      OBJ[id],
      '--data',
      join(out, 'exp', 'arms', id, 'train.jsonl'),
      '--steps',
      String(STEPS),
      '--batch-size',
      String(BATCH),
      '--max-seq-len',
      String(LEN),
      '--lr',
      '3e-3',
      '--seed',
      '0',
      '--skip-bad-rows',
      '--backend',
      'wasm',
      '--out',
      dir,
    ]);
    timing[`train ${id}`] = t.seconds;
    trained[id] = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    evals[id] = JSON.parse(lab(['eval', ...evalArgs, '--adapter', dir]).stdout);
  }
  console.log(`timings (s): ${JSON.stringify(timing)}`);
}, 1_500_000);

describe(`lab experiment --recipe clo-vs-sft --steps ${STEPS}`, () => {
  it('writes the report files and says the budget is matched', () => {
    for (const f of [
      'report.md',
      'summary.csv',
      'tasks.csv',
      'curves.csv',
      'curves.svg',
      'tradeoff.svg',
      'report.json',
    ])
      expect(existsSync(join(out, 'exp', f)), f).toBe(true);
    const md = readFileSync(join(out, 'exp', 'report.md'), 'utf8');
    expect(md).toContain(`Matched budget: every arm trains ${STEPS} optimizer steps at batch ${BATCH}`);
    expect(md.indexOf('| base model |')).toBeGreaterThan(0);
    expect(summary.rows.map((r: any) => r.id)).toEqual(['base', ...ARMS]);
    expect(report.status).toBe('done');
    expect(readFileSync(join(out, 'exp', 'curves.svg'), 'utf8')).toContain('<path');
    for (const id of ARMS) expect(existsSync(join(out, 'exp', 'arms', id, 'adapter_model.safetensors'))).toBe(true);
  });

  it('training curves equal the separate train command step by step', () => {
    for (const id of ARMS) {
      const arm = report.arms.find((a: any) => a.id === id);
      expect(arm.metrics).toHaveLength(STEPS);
      expect(arm.rows.used).toBe(trained[id].data.rows - trained[id].data.skipped.length);
      expect(arm.config).toEqual(trained[id].config);
      for (const k of ['loss', 'grad_norm', 'lr', 'tokens'])
        expect(
          arm.metrics.map((m: any) => m[k]),
          `${id} ${k}`,
        ).toEqual(trained[id].metrics.map((m: any) => m[k]));
    }
  });

  it('evaluation numbers equal the separate eval command for the base model and every arm', () => {
    for (const id of ['base', ...ARMS]) {
      const ev = id === 'base' ? report.base : report.arms.find((a: any) => a.id === id).eval;
      const ref = evals[id];
      expect(ev.perplexity.ppl, `${id} ppl`).toBe(ref.perplexity.ppl);
      expect(ev.perplexity.n).toBe(LIMIT);
      expect(ev.fidelity.ko.share, `${id} ko`).toBe(ref.fidelity.ko.share);
      expect(ev.fidelity.en.share, `${id} en`).toBe(ref.fidelity.en.share);
      expect(ev.fidelity.items.map((i: any) => i.text)).toEqual(ref.fidelity.items.map((i: any) => i.text));
      for (const t of TASKS.split(',')) {
        expect(ev.tasks[`${t}@0`].macro_f1, `${id} ${t}`).toBe(ref.results[t].macro_f1);
        expect(ev.tasks[`${t}@0`].acc).toBe(ref.results[t].acc);
      }
    }
  });

  it('training changed the model: SFT on Korean moves English perplexity away from the base', () => {
    const base = report.base.perplexity.ppl;
    const sft = report.arms.find((a: any) => a.id === 'sft-ko').eval.perplexity.ppl;
    expect(sft).not.toBe(base);
    expect(report.arms.find((a: any) => a.id === 'sft-ko').eval.bitsPerChar.bits_per_char).toBeLessThan(
      report.base.bitsPerChar.bits_per_char,
    );
  });
});
