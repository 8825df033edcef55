/**
 * One checkpoint format for the page and the CLI (checkpoint.safetensors, src/lib/formats/checkpoint.ts),
 * on stories260K, CLO, the bundled en–ko pairs, wasm on both sides:
 * - a page run paused at step s downloads its checkpoint from the run list; `lab train --resume FILE`
 *   continues it, and its next 5 losses equal the page's own continuation of the same run within 1e-4;
 * - a CLI run stopped by SIGTERM at step s is imported into the page (Train view, run list), resumed
 *   there, and its next 5 losses equal an uninterrupted CLI run's within 1e-4.
 * The CLI runs as a child process (node --import tsx cli/lab.ts train …).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';

const ROOT = resolve(process.cwd());
const CLO_SET = 'paired-alpaca-koalpaca-en-ko';
const DATA = 'public/data/instructions/paired_alpaca_koalpaca_en_ko.jsonl';
// long enough that a pause sent once step 2 shows lands well before the last NEXT steps, however fast the
// steps run (a stories260K step can take well under 100 ms)
const STEPS = 30;
const NEXT = 5;
const TOL = 1e-4;
const CLI = ['--import', 'tsx', 'cli/lab.ts', 'train'];
/** the run's settings, as the CLI's flags (the page's form gets the same numbers) */
const FLAGS = [
  ...['--objective', 'clo', '--data', DATA, '--steps', String(STEPS), '--batch-size', '1'],
  ...['--max-seq-len', '48', '--lr', '0.003', '--warmup-steps', '0', '--checkpoint-every', '1'],
  // the file has one row with an empty answer: the page leaves it out too
  '--skip-bad-rows',
];

interface Loss {
  step: number;
  loss: number;
}
const losses = (stderr: string): Loss[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{"step"'))
    .map((l) => JSON.parse(l) as Loss);

function lab(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args, '--backend', 'wasm', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Runs the CLI and sends SIGTERM once its stderr shows step `after`; resolves with its exit code and stderr. */
function labUntil(args: string[], after: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...CLI, ...args, '--backend', 'wasm', '--json'], { cwd: ROOT });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (!sent && losses(stderr).some((m) => m.step === after)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr }));
  });
}

/** The stored run record (IndexedDB clo-lab, store kv). */
async function storedRun(page: Page, runId: string): Promise<{ lastCheckpointStep: number | null; metrics: Loss[] }> {
  return page.evaluate(
    (id) =>
      new Promise((ok, ko) => {
        const open = indexedDB.open('clo-lab');
        open.onerror = () => ko(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction('kv').objectStore('kv').get(`run:${id}`);
          req.onsuccess = () => ok(req.result);
          req.onerror = () => ko(req.error);
        };
      }),
    runId,
  );
}

/** Loads the bundled CLO pairs into the page's data store and opens the Train view with them. */
async function loadPairs(page: Page): Promise<void> {
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  await expect(page.getByTestId('field-objective')).toHaveValue('clo');
}

/** The next NEXT losses after step `from` agree within TOL; returns the largest difference. */
function expectSameLosses(got: Loss[], want: Loss[], from: number): number {
  let worst = 0;
  for (let s = from + 1; s <= from + NEXT; s++) {
    const g = got.find((m) => m.step === s);
    const w = want.find((m) => m.step === s);
    expect(g, `step ${s} resumed`).toBeTruthy();
    expect(w, `step ${s} uninterrupted`).toBeTruthy();
    worst = Math.max(worst, Math.abs(g!.loss - w!.loss));
  }
  expect(worst).toBeLessThan(TOL);
  return worst;
}

let tmp: string;
/** other rows of the same shape: the first 100 of DATA */
let fewer: string;
test.beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'clo-roundtrip-'));
  fewer = join(tmp, 'fewer.jsonl');
  writeFileSync(fewer, readFileSync(join(ROOT, DATA), 'utf8').split('\n').slice(0, 100).join('\n') + '\n');
});
test.afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('a page checkpoint downloads and continues in the CLI on the same trajectory', async ({ page }) => {
  test.setTimeout(400_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await loadPairs(page);
  const form = { steps: STEPS, batchSize: 1, maxSeqLen: 48, lr: 0.003, warmupSteps: 0, checkpointEvery: 1 };
  for (const [k, v] of Object.entries(form)) await page.getByTestId(`field-${k}`).fill(String(v));
  await page.getByLabel('Run name').fill('page-to-cli');
  await page.getByTestId('start').click();
  const phase = page.getByTestId('run-phase');
  await expect
    .poll(async () => Number(await phase.getAttribute('data-step')), { timeout: 180_000, intervals: [50] })
    .toBeGreaterThanOrEqual(2);
  await page.getByTestId('pause').click();
  await expect(phase).toHaveAttribute('data-phase', 'paused', { timeout: 60_000 });
  const row = page.getByTestId('run-row').first();
  const runId = (await row.getAttribute('data-run-id'))!;
  const at = Number(await phase.getAttribute('data-step'));
  expect(at).toBeLessThanOrEqual(STEPS - NEXT);
  await expect.poll(async () => (await storedRun(page, runId)).lastCheckpointStep).toBe(at);

  const [dl] = await Promise.all([page.waitForEvent('download'), row.getByTestId('run-checkpoint-download').click()]);
  expect(dl.suggestedFilename()).toBe('page-to-cli.checkpoint.safetensors');
  const file = join(tmp, dl.suggestedFilename());
  await dl.saveAs(file);

  // the page's own continuation of the run is the uninterrupted trajectory
  await page.getByTestId('resume').click();
  await expect(phase).toHaveAttribute('data-phase', 'completed', { timeout: 180_000 });
  const pageLosses = (await storedRun(page, runId)).metrics;
  expect(pageLosses.map((m) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));

  // another data file is refused by its fingerprint, naming the field
  const other = lab(['--resume', file, '--data', fewer, '--out', join(tmp, 'other')]);
  expect(other.code).not.toBe(0);
  expect(other.stderr).toContain('data_fingerprint');

  const r = lab(['--resume', file, '--data', DATA, '--skip-bad-rows', '--out', join(tmp, 'from-page')]);
  expect(r.code, r.stderr).toBe(0);
  const cli = losses(r.stderr);
  expect(cli[0].step).toBe(at + 1);
  const worst = expectSameLosses(cli, pageLosses, at);
  test.info().annotations.push({
    type: `page → CLI: max |Δloss| over steps ${at + 1}–${at + NEXT}`,
    description: String(worst),
  });
});

test('a CLI checkpoint imports into the page and continues there on the same trajectory', async ({ page }) => {
  test.setTimeout(400_000);
  const straight = lab([...FLAGS, '--out', join(tmp, 'straight')]);
  expect(straight.code, straight.stderr).toBe(0);
  const want = losses(straight.stderr);
  expect(want).toHaveLength(STEPS);

  const dir = join(tmp, 'stopped');
  const stopped = await labUntil([...FLAGS, '--out', dir], 2);
  expect(stopped.code, stopped.stderr).toBe(143);
  const at = losses(stopped.stderr).at(-1)!.step;
  expect(at).toBeLessThanOrEqual(STEPS - NEXT);

  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await loadPairs(page);
  await page.getByTestId('import-checkpoint').setInputFiles(join(dir, 'checkpoint.safetensors'));
  const row = page.getByTestId('run-row').first();
  await expect(row.getByTestId('run-checkpoint')).toHaveText(`${at} / ${STEPS}`);
  await expect(row).toHaveAttribute('data-status', 'interrupted');
  const runId = (await row.getAttribute('data-run-id'))!;
  await row.getByRole('button', { name: /^Resume/ }).click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 180_000 });
  const got = (await storedRun(page, runId)).metrics;
  expect(got.map((m) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  const worst = expectSameLosses(got, want, at);
  test.info().annotations.push({
    type: `CLI → page: max |Δloss| over steps ${at + 1}–${at + NEXT}`,
    description: String(worst),
  });
});
