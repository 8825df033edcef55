/**
 * CLI checkpoints and resume: a `train` run killed with SIGKILL mid-run leaves only complete files, and
 * `train --resume` continues it with the same per-step losses as an uninterrupted run (within 1e-4).
 * SIGTERM saves a checkpoint and exits 143; a changed data file or flag is refused by name.
 * Runs the CLI as one node process (`node --import tsx`), so the signals reach the trainer itself.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, loadStories } from '../helpers/helpers';
import { decodeCheckpoint } from '../../src/lib/formats/checkpoint';
import { fromPeft } from '../../src/lib/formats/peft';

const ROWS = [
  ['Once upon a time, there was a little cat. ', 'The cat liked to play with a red ball.'],
  ['Lily went to the park. ', 'She saw a big dog and said hello.'],
  ['Tom had a toy car. ', 'He played with it all day and was happy.'],
  ['The sun was hot. ', 'Ben and Sue went to swim in the pond.'],
  ['One day, a bird flew into the room. ', 'Mom opened the window and the bird flew out.'],
];
const STEPS = 5;
let tmp: string;
let data: string;
const flags = (out: string) => [
  '--objective',
  'sft',
  '--data',
  data,
  '--steps',
  String(STEPS),
  '--batch-size',
  '2',
  '--lr',
  '3e-3',
  '--lora-dropout',
  '0.1',
  '--backend',
  'cpu',
  '--checkpoint-every',
  '1',
  '--json',
  '--out',
  out,
];
const CLI = ['--import', 'tsx', 'cli/lab.ts', 'train'];
const losses = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{"step"'))
    .map((l) => JSON.parse(l) as { step: number; loss: number });

function runSync(args: string[]) {
  return spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}
/** Starts a run and sends `signal` once the stderr shows step `afterStep`. */
function runAndSignal(
  args: string[],
  afterStep: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT });
    let stderr = '';
    let sent = false;
    p.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!sent && losses(stderr).some((m) => m.step === afterStep)) {
        sent = true;
        p.kill(signal);
      }
    });
    p.on('exit', (code, sig) => res({ code, signal: sig, stderr }));
  });
}

let straight: { step: number; loss: number }[];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'clo-resume-'));
  data = join(tmp, 'sft.jsonl');
  writeFileSync(data, ROWS.map(([prompt, response]) => JSON.stringify({ prompt, response })).join('\n') + '\n');
  const p = runSync(flags(join(tmp, 'straight')));
  if (p.status !== 0) throw new Error(p.stderr);
  straight = losses(p.stderr);
}, 150_000);

describe('train checkpoints and --resume', () => {
  it('SIGKILL mid-run leaves complete files; --resume gives the uninterrupted losses', async () => {
    expect(straight.map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    const dir = join(tmp, 'killed');
    const k = await runAndSignal(flags(dir), 2, 'SIGKILL');
    expect(k.signal).toBe('SIGKILL');
    // only complete files: the checkpoint and the adapter parse (hidden names: the killed writer's lock and
    // temporaries, cleared by the next run)
    const names = readdirSync(dir)
      .filter((f) => !f.startsWith('.'))
      .sort();
    expect(names).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'checkpoint.safetensors']);
    const ck = await decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors'))));
    expect(ck.checkpoint.step).toBeGreaterThanOrEqual(1);
    expect(ck.checkpoint.step).toBeLessThan(STEPS);
    expect(Object.keys(ck.checkpoint.optimizer.m).length).toBe(2 * Object.keys(ck.checkpoint.lora.tensors).length);
    const m = loadStories();
    const peft = await fromPeft(
      JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')),
      new Uint8Array(readFileSync(join(dir, 'adapter_model.safetensors'))),
      m.config,
    );
    expect(Object.keys(peft.tensors).length).toBe(5 * 4);

    const r = runSync(['--resume', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const resumed = losses(r.stderr);
    expect(resumed.map((x) => x.step)).toEqual(straight.filter((x) => x.step > ck.checkpoint.step).map((x) => x.step));
    for (const x of resumed) expect(Math.abs(x.loss - straight[x.step - 1].loss)).toBeLessThan(1e-4);
    // the run learned something, so equal losses are not trivially equal
    expect(new Set(straight.map((x) => x.loss.toFixed(4))).size).toBe(STEPS);
    const runJson = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(runJson.metrics.map((x: { step: number }) => x.step)).toEqual([1, 2, 3, 4, 5]);
  }, 200_000);

  it('SIGTERM saves a checkpoint and exits 143 saying where; changed data or flags are refused by name', async () => {
    const dir = join(tmp, 'term');
    const t = await runAndSignal(flags(dir), 1, 'SIGTERM');
    expect(t.code).toBe(143);
    expect(t.stderr).toMatch(
      new RegExp(
        `interrupted \\(SIGTERM\\) after step \\d: checkpoint saved in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );
    const lr = runSync(['--resume', dir, '--lr', '1e-3']);
    expect(lr.status).toBe(2);
    expect(lr.stderr).toContain("--lr 0.001 would change the run: the checkpoint's config.lr is 0.003");
    // every flag of the config is compared with the checkpoint, by field
    const objective = runSync(['--resume', dir, '--objective', 'dpo']);
    expect(objective.status).toBe(2);
    expect(objective.stderr).toContain(
      `--objective dpo would change the run: the checkpoint's config.objective is "sft"`,
    );
    appendFileSync(data, JSON.stringify({ prompt: 'A new row. ', response: 'It changes the data.' }) + '\n');
    const d = runSync(['--resume', dir]);
    expect(d.status).toBe(1);
    expect(d.stderr).toContain(`the data file ${data} changed since the checkpoint`);
  }, 200_000);
});

describe('train --resume with trainable embedding rows (pt on a model extended by `vocab`)', () => {
  let ext: string;
  let text: string;
  const ptFlags = (out: string) => [
    '--model',
    ext,
    '--objective',
    'pt',
    '--train-embeddings',
    'new',
    '--lora-targets',
    'q_proj,v_proj',
    '--lora-rank',
    '2',
    '--data',
    text,
    '--steps',
    String(STEPS),
    '--batch-size',
    '2',
    '--max-seq-len',
    '32',
    '--lr',
    '1e-2',
    '--backend',
    'cpu',
    '--checkpoint-every',
    '1',
    '--json',
    '--out',
    out,
  ];
  let straightPt: { step: number; loss: number }[];

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'clo-resume-pt-'));
    const ko = readFileSync(join(ROOT, 'public/data/instructions/ko_chatbot_300.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(0, 60)
      .map((l) => JSON.parse(l) as { instruction: string; output: string });
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, ko.map((r) => `${r.instruction} ${r.output}`).join('\n') + '\n');
    text = corpus;
    ext = join(dir, 'ext');
    const v = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/lab.ts',
        'vocab',
        '--corpus',
        corpus,
        '--add',
        '32',
        '--init',
        'mean',
        '--backend',
        'cpu',
        '--out',
        ext,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    if (v.status !== 0) throw new Error(v.stderr);
    const p = runSync(ptFlags(join(dir, 'straight')));
    if (p.status !== 0) throw new Error(p.stderr);
    straightPt = losses(p.stderr);
  }, 200_000);

  it('the checkpoint carries the rows and their AdamW moments; --resume gives the uninterrupted losses', async () => {
    expect(straightPt.map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    const dir = join(mkdtempSync(join(tmpdir(), 'clo-resume-pt-')), 'killed');
    const k = await runAndSignal(ptFlags(dir), 2, 'SIGKILL');
    expect(k.signal).toBe('SIGKILL');
    const ck = await decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors'))));
    expect(ck.checkpoint.step).toBeGreaterThanOrEqual(1);
    expect(ck.checkpoint.step).toBeLessThan(STEPS);
    expect(ck.checkpoint.config.trainRowsFrom).toBe(512);
    expect(ck.trainable['rows.embed'].shape).toEqual([32, 64]);
    expect(ck.checkpoint.optimizer.m['rows.embed']).toHaveLength(32 * 64);
    expect(ck.checkpoint.optimizer.v['rows.embed']).toHaveLength(32 * 64);

    const r = runSync(['--resume', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const resumed = losses(r.stderr);
    expect(resumed.map((x) => x.step)).toEqual(
      straightPt.filter((x) => x.step > ck.checkpoint.step).map((x) => x.step),
    );
    for (const x of resumed) expect(Math.abs(x.loss - straightPt[x.step - 1].loss)).toBeLessThan(1e-4);
    expect(new Set(straightPt.map((x) => x.loss.toFixed(4))).size).toBe(STEPS);
  }, 200_000);
});
