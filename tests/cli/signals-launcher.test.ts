/**
 * Signals through the real launcher: `npm run -s lab -- train …` (npm → cli/launch.mjs → the run) is sent
 * SIGINT or SIGTERM, to its whole process group or to the launcher alone, at a random step, 20 times. Each
 * time the run finishes its step, exits 130 (SIGINT) or 143 (SIGTERM), and leaves a complete checkpoint at
 * the last step it printed; a few of them are resumed and give the uninterrupted losses within 1e-4.
 * The runs checkpoint only at the end (--checkpoint-every 0), so every saved step comes from the signal.
 * They run on wasm (a step of 5 to 30 ms), signalled within the first quarter of the run: the signal
 * must land before the run's end, and the thirty steps after it leave a fast machine whose test process
 * waits for a busy core a few hundred ms to deliver it. The second test wants a slow step and runs on cpu.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/helpers';
import { decodeCheckpoint } from '../../src/lib/formats/checkpoint';

const ROWS = [
  ['Once upon a time, there was a little cat. ', 'The cat liked to play with a red ball.'],
  ['Lily went to the park. ', 'She saw a big dog and said hello.'],
  ['Tom had a toy car. ', 'He played with it all day and was happy.'],
  ['The sun was hot. ', 'Ben and Sue went to swim in the pond.'],
];
const STEPS = 40;
let tmp: string;
let data: string;
const flags = (out: string, batch = 1, backend = 'wasm') =>
  [
    ['--objective', 'sft', '--data', data, '--steps', String(STEPS), '--batch-size', String(batch), '--lr', '3e-3'],
    ['--lora-dropout', '0.1', '--backend', backend, '--checkpoint-every', '0', '--json', '--out', out],
  ].flat();
type Metric = { step: number; loss: number };
const losses = (stderr: string): Metric[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{"step"'))
    .map((l) => JSON.parse(l) as Metric);

function npmLab(args: string[]) {
  return spawnSync('npm', ['run', '-s', 'lab', '--', 'train', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 150_000,
  });
}

type Target = 'group' | 'launcher';
/** The launcher: npm's one child (the script runs under `exec`, so no shell sits between). */
function launcherOf(npmPid: number): number {
  const kids = readFileSync(`/proc/${npmPid}/task/${npmPid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  if (kids.length !== 1) throw new Error(`npm has children ${kids.join(',')}`);
  return kids[0];
}

/** Starts `npm run -s lab -- train` in a process group of its own and signals it once step `at` is printed. */
function runAndSignal(
  out: string,
  at: number,
  signal: NodeJS.Signals,
  target: Target,
  again?: number,
  batch = 1,
  backend = 'wasm',
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    const p = spawn('npm', ['run', '-s', 'lab', '--', 'train', ...flags(out, batch, backend)], {
      cwd: ROOT,
      detached: true,
    });
    let stderr = '';
    let sent = false;
    p.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!sent && losses(stderr).some((m) => m.step === at)) {
        sent = true;
        const send = () =>
          target === 'group' ? process.kill(-p.pid!, signal) : process.kill(launcherOf(p.pid!), signal);
        send();
        if (again !== undefined) setTimeout(() => p.exitCode === null && send(), again);
      }
    });
    p.on('exit', (code) => res({ code, stderr }));
  });
}

let straight: Metric[];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'clo-signals-'));
  data = join(tmp, 'sft.jsonl');
  writeFileSync(data, ROWS.map(([prompt, response]) => JSON.stringify({ prompt, response })).join('\n') + '\n');
  const p = npmLab(flags(join(tmp, 'straight')));
  if (p.status !== 0) throw new Error(p.stderr);
  straight = losses(p.stderr);
}, 150_000);

describe('train through `npm run -s lab` saves on SIGINT and SIGTERM', () => {
  it('20 signals at random steps, to the group or the launcher: a complete checkpoint at the last finished step, resumable', async () => {
    expect(straight.map((m) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    const modes: [NodeJS.Signals, Target][] = [
      ['SIGINT', 'group'],
      ['SIGTERM', 'group'],
      ['SIGINT', 'launcher'],
      ['SIGTERM', 'launcher'],
    ];
    let resumed = 0;
    for (let i = 0; i < 20; i++) {
      const [signal, target] = modes[i % modes.length];
      const at = 1 + Math.floor(Math.random() * (STEPS / 4));
      const dir = join(tmp, `run-${i}`);
      const r = await runAndSignal(dir, at, signal, target);
      const what = `run ${i}: ${signal} to the ${target} after step ${at}\n${r.stderr.slice(-600)}`;
      expect(r.code, what).toBe(signal === 'SIGINT' ? 130 : 143);
      const printed = losses(r.stderr);
      const last = printed[printed.length - 1].step;
      expect(last, what).toBeGreaterThanOrEqual(at);
      expect(last, what).toBeLessThan(STEPS);
      for (const m of printed) expect(Math.abs(m.loss - straight[m.step - 1].loss), what).toBeLessThan(1e-4);
      expect(readdirSync(dir).sort(), what).toEqual([
        'adapter_config.json',
        'adapter_model.safetensors',
        'checkpoint.safetensors',
      ]);
      const ck = await decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors'))));
      expect(ck.checkpoint.step, what).toBe(last);
      expect(r.stderr, what).toContain(`interrupted (${signal}) after step ${last}: checkpoint saved in ${dir}`);
      // resume one run of each kind (signal × target): the losses of the uninterrupted run
      if (i < modes.length) {
        const c = npmLab(['--resume', dir, '--json']);
        expect(c.status, c.stderr).toBe(0);
        const rest = losses(c.stderr);
        expect(rest.map((m) => m.step)).toEqual(straight.filter((m) => m.step > last).map((m) => m.step));
        for (const m of rest) expect(Math.abs(m.loss - straight[m.step - 1].loss), what).toBeLessThan(1e-4);
        resumed++;
      }
    }
    expect(resumed).toBe(modes.length);
    // the run learned something, so equal losses are not trivially equal
    expect(new Set(straight.map((x) => x.loss.toFixed(4))).size).toBeGreaterThan(STEPS / 2);
  }, 600_000);

  it('a second signal stops the run at once: nothing saved after the running step, no partial file', async () => {
    // a slow step (32 rows on cpu: seconds) so that the second SIGINT, 0.6 s after the first, arrives while
    // it runs; the test waits for step 1 of them, which on a loaded machine took up to two minutes at 64 rows
    const dir = join(tmp, 'twice');
    const r = await runAndSignal(dir, 1, 'SIGINT', 'group', 600, 32, 'cpu');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('SIGINT again: stopping now');
    expect(r.stderr).not.toContain('checkpoint saved');
    // the step running when the signals came may finish (a step is not cut midway); no other does
    expect(losses(r.stderr).length).toBeLessThanOrEqual(2);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  }, 300_000);
});
