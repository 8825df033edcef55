/* eslint-disable @typescript-eslint/no-explicit-any -- report.json and the CLI's --json output are untyped JSON */
/**
 * The salt-init recipe really initialises: `lab experiment --recipe salt-init` extends the
 * vocabulary once per arm (salt, mean, random; same tokens, same seed) and trains the new rows with
 * continued pretraining. Each arm's loss curve must equal what the separate commands give for the
 * same init (`lab vocab --init X`, then `lab train --objective pt --train-embeddings new` on the
 * rows the experiment wrote), the arms must differ from each other, and each arm's folder holds the
 * extended model (base vocabulary + 1,024 rows) with its trained rows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/helpers';

const STEPS = 3;
const INITS = ['salt', 'mean', 'random'];

function lab(args: string[]): { stdout: string; stderr: string } {
  const p = spawnSync(process.execPath, ['cli/launch.mjs', 'cli/lab.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (p.status !== 0) throw new Error(`lab ${args.join(' ')} exited ${p.status}: ${p.stderr.slice(-2000)}`);
  return { stdout: p.stdout, stderr: p.stderr };
}

let out: string;
let report: any;
let summary: any;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'clo-salt-init-'));
  const ex = lab(
    ['experiment', '--recipe', 'salt-init', '--steps', String(STEPS), '--eval-limit', '3', '--backend', 'wasm'].concat([
      '--out',
      join(out, 'exp'),
      '--json',
    ]),
  );
  summary = JSON.parse(ex.stdout.trim().split('\n').at(-1)!);
  report = JSON.parse(readFileSync(join(out, 'exp', 'report.json'), 'utf8'));
}, 600_000);

describe('lab experiment --recipe salt-init', () => {
  it('runs its three initialisations, each an extended model with trained rows; the checks are decided', () => {
    expect(report.status).toBe('done');
    expect(report.arms.map((a: any) => a.vocab)).toEqual(
      INITS.map((init) => ({ add: 1024, init, oldVocab: 512, vocabSize: 1536 })),
    );
    const bpc = report.arms.map((a: any) => a.eval.bitsPerChar.bits_per_char);
    expect(new Set(bpc).size).toBe(3);
    for (const b of bpc) expect(b).toBeLessThan(report.base.bitsPerChar.bits_per_char);
    for (const init of INITS) {
      const cfg = JSON.parse(readFileSync(join(out, 'exp', 'arms', init, 'model', 'config.json'), 'utf8'));
      expect(cfg.vocab_size).toBe(1536);
    }
    expect(summary.checks).toHaveLength(4);
    for (const c of summary.checks) expect(['supported', 'not supported']).toContain(c.verdict);
  });

  it.each(INITS)('the %s arm equals `lab vocab --init` + `lab train --objective pt --train-embeddings new`', (init) => {
    const model = join(out, `vocab-${init}`);
    lab(['vocab', '--add', '1024', '--init', init, '--seed', '0', '--backend', 'wasm', '--out', model]);
    const t = lab(
      ['train', '--model', model, '--objective', 'pt', '--train-embeddings', 'new', '--lora-targets', ''].concat(
        ['--data', join(out, 'exp', 'arms', init, 'train.jsonl'), '--steps', String(STEPS), '--batch-size', '4'],
        ['--max-seq-len', '128', '--lr', '0.003', '--seed', '0', '--backend', 'wasm'],
        ['--out', join(out, `train-${init}`), '--json'],
      ),
    );
    const losses = t.stderr
      .split('\n')
      .filter((l) => l.startsWith('{"step"'))
      .map((l) => JSON.parse(l).loss);
    const arm = report.arms.find((a: any) => a.id === init);
    expect(losses).toHaveLength(STEPS);
    for (let i = 0; i < STEPS; i++) expect(Math.abs(losses[i] - arm.metrics[i].loss)).toBeLessThan(1e-4);
  });
});
