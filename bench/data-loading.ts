/**
 * Data loading at scale: time to the first training step and peak RSS of
 * `train --steps 1` on a generated JSONL of --mb megabytes (SFT {prompt, response} rows of
 * story-like text, seeded), as a child process whose peak RSS (VmHWM) is read from /proc while it
 * runs, so a run killed at --timeout still has a figure. Writes one entry per run to
 * bench/results/data-loading.json (kept per --label, so "before" and "after" sit side by side).
 *   node cli/launch.mjs bench/data-loading.ts [--mb 200] [--objective sft] [--label after] [--timeout 300]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from '../cli/args';
import { PROJECT_ROOT } from '../cli/node-env';
import { mulberry32 } from '../src/lib/model/sample';

const a = parseArgs(
  process.argv.slice(2),
  {
    mb: { type: 'number', help: 'size of the generated file in MB', default: 200, gt: 0, max: 4096 },
    objective: { type: 'string', help: 'sft, dpo, orpo, clo or pt', default: 'sft' },
    label: { type: 'string', help: 'name of this measurement (e.g. before, after)', default: 'after' },
    timeout: { type: 'number', help: 'seconds before the run is killed', default: 300, int: true, min: 1 },
    backend: { type: 'string', help: 'tfjs backend of the run', default: 'cpu' },
    out: { type: 'string', help: 'results JSON', default: 'bench/results/data-loading.json' },
  },
  'data-loading',
);

const WORDS =
  'once upon a time there was a little girl named lily she loved to play outside in the sunshine one day saw big red ball park dog cat ran happy sad mom dad tree bird sky blue green friend said hello'.split(
    ' ',
  );

/** A JSONL file of about `mb` megabytes whose row kind fits the objective. */
async function writeData(file: string, mb: number, objective: string): Promise<number> {
  const rng = mulberry32(7);
  const sentence = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rng() * WORDS.length)]).join(' ');
  const stream = createWriteStream(file);
  let bytes = 0;
  let rows = 0;
  const target = mb * 1024 * 1024;
  while (bytes < target) {
    const p = sentence(4 + Math.floor(rng() * 8));
    const r = ' ' + sentence(8 + Math.floor(rng() * 16)) + '.';
    const row =
      objective === 'pt'
        ? { text: `${p}. ${r}` }
        : objective === 'clo'
          ? { x_en: p, y_en: r, x_tgt: p.toUpperCase(), y_tgt: r.toUpperCase(), lang: 'ko' }
          : objective === 'dpo' || objective === 'orpo'
            ? { prompt: p, chosen: r, rejected: ' no.' }
            : { prompt: p, response: r };
    const line = JSON.stringify(row) + '\n';
    bytes += line.length;
    rows++;
    if (!stream.write(line)) await new Promise<void>((ok) => stream.once('drain', () => ok()));
  }
  await new Promise<void>((ok) => stream.end(() => ok()));
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), 'clo-data-bench-'));
try {
  const data = join(dir, 'big.jsonl');
  const rows = await writeData(data, a.mb as number, a.objective as string);
  const size = statSync(data).size;
  // one process (node --import tsx), so its VmHWM is the run's
  const args = [
    '--import',
    'tsx',
    'cli/lab.ts',
    'train',
    '--objective',
    String(a.objective),
    '--data',
    data,
    '--steps',
    '1',
    '--batch-size',
    '4',
    '--max-seq-len',
    '128',
    '--backend',
    String(a.backend),
    '--out',
    join(dir, 'run'),
  ];
  const t0 = performance.now();
  let firstStepS: number | null = null;
  let stderr = '';
  let peakKb = 0;
  let cpuAtStep1: number | null = null;
  /** user + system CPU seconds of the run so far (wall time means little on a shared machine) */
  const cpuSeconds = (pid: number): number | null => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return null;
    }
  };
  const code = await new Promise<number | null>((done) => {
    const p = spawn(process.execPath, args, { cwd: PROJECT_ROOT, detached: true });
    const poll = setInterval(() => {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0);
        peakKb = Math.max(peakKb, kb);
      } catch {
        // gone
      }
    }, 200);
    const timer = setTimeout(() => process.kill(-p.pid!, 'SIGKILL'), (a.timeout as number) * 1000);
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (firstStepS === null && /^step 1\//m.test(stderr)) {
        firstStepS = (performance.now() - t0) / 1000;
        cpuAtStep1 = cpuSeconds(p.pid!);
      }
    });
    p.on('close', (c) => {
      clearTimeout(timer);
      clearInterval(poll);
      done(c);
    });
  });
  const entry = {
    label: a.label,
    objective: a.objective,
    backend: a.backend,
    file_mb: +(size / 1024 / 1024).toFixed(1),
    rows,
    exit: code,
    seconds_to_step_1: firstStepS === null ? null : +(firstStepS as number).toFixed(1),
    cpu_seconds_to_step_1: cpuAtStep1,
    load_average: +loadavg()[0].toFixed(1),
    seconds_total: +((performance.now() - t0) / 1000).toFixed(1),
    peak_rss_mb: Math.round(peakKb / 1024),
    progress: stderr
      .split('\n')
      .filter((l) => /rows|MB/.test(l))
      .slice(-3),
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(entry, null, 1));
  if (code !== 0) process.stderr.write(stderr.slice(-2000));
  const outFile = resolve(PROJECT_ROOT, a.out as string);
  const prev = existsSync(outFile) ? (JSON.parse(readFileSync(outFile, 'utf8')) as (typeof entry)[]) : [];
  const kept = prev.filter(
    (e) => !(e.label === entry.label && e.objective === entry.objective && e.file_mb === entry.file_mb),
  );
  writeFileSync(outFile, JSON.stringify([...kept, entry], null, 1) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
