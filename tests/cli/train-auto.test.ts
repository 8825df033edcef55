/**
 * `lab train --backend auto` (cli/auto-backend.ts): the run times warm steps on each backend that runs
 * here (wasm; webgpu where Dawn finds an adapter), prints both figures and the choice on stderr as the
 * browser's header shows them, and trains on the backend it printed (run.json). stories260K SFT, two
 * steps of batch 1 × 32 tokens: the measurement's budget is what costs time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/helpers';

const ROWS = [
  ['Once upon a time, there was a little cat. ', 'The cat liked to play with a red ball.'],
  ['Lily went to the park. ', 'She saw a big dog and said hello.'],
  ['Tom had a toy car. ', 'He played with it all day and was happy.'],
];

let run: { status: number | null; stderr: string; out: string };

beforeAll(() => {
  const tmp = mkdtempSync(join(tmpdir(), 'clo-train-auto-'));
  const data = join(tmp, 'sft.jsonl');
  writeFileSync(data, ROWS.map(([prompt, response]) => JSON.stringify({ prompt, response })).join('\n') + '\n');
  const out = join(tmp, 'run');
  const p = spawnSync(
    process.execPath,
    [
      'cli/launch.mjs',
      'cli/lab.ts',
      'train',
      '--objective',
      'sft',
      '--data',
      data,
      '--steps',
      '2',
      '--batch-size',
      '1',
      '--max-seq-len',
      '32',
      '--backend',
      'auto',
      '--out',
      out,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 180_000 },
  );
  run = { status: p.status, stderr: p.stderr, out };
}, 200_000);

describe('train --backend auto', () => {
  it('prints the figure of each backend and the choice, and trains on the choice', () => {
    expect(run.status, run.stderr).toBe(0);
    const line = run.stderr.split('\n').find((l) => l.startsWith('auto measured: '));
    expect(line, run.stderr).toBeDefined();
    // "auto measured: wasm 3,100 tok/s, webgpu < 36 tok/s (a step ran past 1.0 s): wasm"
    expect(line).toMatch(/^auto measured: (.+, )*wasm [\d,.]+ tok\/s.*: (wasm|webgpu)$/);
    const choice = line!.slice(line!.lastIndexOf(': ') + 2);
    const measured = line!.slice('auto measured: '.length, line!.lastIndexOf(': '));
    if (measured.includes('webgpu')) expect(measured).toMatch(/webgpu ((< )?[\d,.]+ tok\/s|failed)/);
    const runJson = JSON.parse(readFileSync(join(run.out, 'run.json'), 'utf8')) as {
      backend: string;
      metrics: unknown[];
    };
    expect(runJson.backend).toBe(choice);
    expect(runJson.metrics).toHaveLength(2);
  });
});
