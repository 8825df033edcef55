/**
 * The run list's TRL bundle and merged model downloads hold what the CLI writes for the same run. CLO
 * runs train on stories260K (wasm), one paused mid-run, one to the end; the page's "TRL bundle" and
 * "Merged" zips are unpacked and set against `export --format trl` and `export --format merged` run on that run's own state: its
 * stored checkpoint (IndexedDB) written as a `train --out` folder (checkpoint.safetensors next to the
 * page's PEFT adapter zip) and its stored training rows written as the --data file. Same file names,
 * the same tensors (within 1e-6), the same data, settings, train.py and README; state/lab_state.json
 * the same but for the run record (the page's is a minimal one: it has no CLI flags or data file).
 */
import type { Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync, strFromU8 } from 'fflate';
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';
import { readSafetensors } from '../../src/lib/formats/safetensors';
import { encodeCheckpoint } from '../../src/lib/formats/checkpoint';
import type { TrainCheckpoint } from '../../src/lib/train/types';
import type { TrainRow } from '../../src/lib/data/rows';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLO_SET = 'paired-alpaca-koalpaca-en-ko';

function lab(args: string[]): void {
  const r = spawnSync(process.execPath, ['cli/launch.mjs', 'cli/lab.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`lab ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

/** A value of the page's IndexedDB ('clo-lab', store 'kv'), typed arrays turned into plain arrays. */
async function idbGet<T>(page: Page, key: string): Promise<T> {
  return page.evaluate(async (k) => {
    const req = indexedDB.open('clo-lab');
    const db: IDBDatabase = await new Promise(
      (r, j) => ((req.onsuccess = () => r(req.result)), (req.onerror = () => j(req.error))),
    );
    const g = db.transaction('kv').objectStore('kv').get(k);
    const v = await new Promise<unknown>((r) => (g.onsuccess = () => r(g.result)));
    const plain = (x: unknown): unknown =>
      x instanceof Float32Array
        ? { f32: Array.from(x) }
        : Array.isArray(x)
          ? x.map(plain)
          : x && typeof x === 'object'
            ? Object.fromEntries(Object.entries(x).map(([a, b]) => [a, plain(b)]))
            : x;
    return plain(v);
  }, key) as Promise<T>;
}

/** Undoes idbGet's plain arrays. */
function typed(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(typed);
  if (x && typeof x === 'object') {
    if ('f32' in x && Object.keys(x).length === 1) return new Float32Array((x as { f32: number[] }).f32);
    return Object.fromEntries(Object.entries(x).map(([a, b]) => [a, typed(b)]));
  }
  return x;
}

/** Every file under dir, by path relative to it ('/' separated). */
function readTree(dir: string, prefix = ''): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) Object.assign(out, readTree(p, `${prefix}${n}/`));
    else out[prefix + n] = new Uint8Array(readFileSync(p));
  }
  return out;
}

async function download(page: Page, click: () => Promise<void>): Promise<Record<string, Uint8Array>> {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  return unzipSync(new Uint8Array(readFileSync((await dl.path())!)));
}

/** Same file names; safetensors: same tensor names, shapes and values within 1e-6; other files byte-equal unless skipped. */
async function compareFiles(
  what: string,
  page: Record<string, Uint8Array>,
  cli: Record<string, Uint8Array>,
  skip: string[] = [],
): Promise<number> {
  expect(Object.keys(page).sort(), `${what}: file names`).toEqual(Object.keys(cli).sort());
  let worst = 0;
  for (const name of Object.keys(cli)) {
    if (name.endsWith('.safetensors')) {
      const a = await readSafetensors(page[name], name);
      const b = await readSafetensors(cli[name], name);
      expect([...a.tensors.keys()].sort(), `${what}: ${name} tensors`).toEqual([...b.tensors.keys()].sort());
      for (const [k, t] of b.tensors) {
        const p = a.tensors.get(k)!;
        expect(p.shape, `${what}: ${name} ${k} shape`).toEqual(t.shape);
        const x = p.data as Float32Array;
        const y = t.data as Float32Array;
        expect(x.length).toBe(y.length);
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
      }
    } else if (!skip.includes(name)) expect(strFromU8(page[name]), `${what}: ${name}`).toBe(strFromU8(cli[name]));
  }
  expect(worst, `${what}: max |page − CLI| over all tensors`).toBeLessThanOrEqual(1e-6);
  return worst;
}

/** Downloads the row's TRL bundle and merged model and sets them against the CLI's exports of the same run. */
async function checkAgainstCli(page: Page, runStep: number): Promise<string> {
  const row = page.getByTestId('run-row').first();
  const runId = (await row.getAttribute('data-run-id'))!;
  const trl = await download(page, () => row.getByTestId('run-trl').click());
  const merged = await download(page, () => row.getByTestId('run-merged').click());
  const adapter = await download(page, () => row.getByRole('button', { name: /^Download the adapter/ }).click());

  // the run's own state, as a CLI run folder: its checkpoint and the rows it trained on
  const record = await idbGet<{ datasetId: string }>(page, `run:${runId}`);
  const ckpt = typed(await idbGet(page, `ckpt:${runId}`)) as TrainCheckpoint;
  expect(ckpt.step).toBe(runStep);
  const rows = await idbGet<TrainRow[]>(page, `dsrows:${record.datasetId}`);
  const dir = mkdtempSync(join(tmpdir(), 'clo-run-exports-'));
  try {
    const runDir = join(dir, 'run');
    const data = join(dir, 'data.jsonl');
    mkdirSync(runDir);
    for (const [n, b] of Object.entries(adapter)) writeFileSync(join(runDir, n), b);
    writeFileSync(
      join(runDir, 'checkpoint.safetensors'),
      encodeCheckpoint({ checkpoint: ckpt, run: {}, trainable: {} }),
    );
    writeFileSync(
      data,
      rows
        .map((r) => {
          if (r.kind !== 'clo') throw new Error(`expected CLO rows, got ${r.kind}`);
          return JSON.stringify({ x_en: r.xEn, y_en: r.yEn, x_tgt: r.xTgt, y_tgt: r.yTgt, lang: r.lang });
        })
        .join('\n') + '\n',
    );
    lab(['export', '--format', 'trl', '--adapter', runDir, '--data', data, '--out', join(dir, 'trl')]);
    lab(['export', '--format', 'merged', '--adapter', runDir, '--out', join(dir, 'merged')]);
    const cliTrl = readTree(join(dir, 'trl'));

    // the bundle continues the run: state/ at its checkpoint's step, the same AdamW moments as the CLI's
    expect(Object.keys(trl)).toEqual(expect.arrayContaining(['state/optimizer.safetensors', 'state/lab_state.json']));
    const trlWorst = await compareFiles('TRL bundle', trl, cliTrl, ['state/lab_state.json']);
    const state = (f: Record<string, Uint8Array>) => {
      const s = JSON.parse(strFromU8(f['state/lab_state.json'])) as Record<string, unknown>;
      delete s.run;
      return s;
    };
    expect(state(trl)).toEqual(state(cliTrl));
    expect((state(trl) as { step: number }).step).toBe(runStep);
    expect(strFromU8(trl['README.md'])).toContain(`checkpoint at step ${runStep} of`);
    const pageRun = (JSON.parse(strFromU8(trl['state/lab_state.json'])) as { run: Record<string, unknown> }).run;
    expect(pageRun).toMatchObject({ source: 'page', rows: rows.length });

    const mergedWorst = await compareFiles('merged model', merged, readTree(join(dir, 'merged')));
    return `TRL bundle ${trlWorst}, merged ${mergedWorst}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the run list's TRL bundle and merged model zips of a paused and a finished run hold the CLI's exports", async ({
  page,
}) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  await expect(page.getByTestId('field-objective')).toHaveValue('clo');
  const fill = async (f: Record<string, number>) => {
    for (const [k, v] of Object.entries(f)) await page.getByTestId(`field-${k}`).fill(String(v));
  };
  const row = page.getByTestId('run-row').first();

  // finished
  await fill({ steps: 4, batchSize: 2, maxSeqLen: 64, lr: 0.003, warmupSteps: 0, checkpointEvery: 2 });
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 120_000 });
  const finishedDiff = await checkAgainstCli(page, 4);

  // paused mid-run: the bundle continues from the pause checkpoint
  const PAUSED_STEPS = 40;
  await fill({ steps: PAUSED_STEPS, checkpointEvery: 0 });
  await page.getByTestId('start').click();
  await expect
    .poll(async () => Number(await page.getByTestId('run-phase').getAttribute('data-step')))
    .toBeGreaterThan(1);
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'paused', { timeout: 60_000 });
  await expect(row.getByTestId('run-checkpoint')).toHaveText(new RegExp(`^\\d+ / ${PAUSED_STEPS}$`));
  const paused = Number((await row.getByTestId('run-checkpoint').textContent())!.split('/')[0]);
  expect(paused).toBeLessThan(PAUSED_STEPS);
  const pausedDiff = await checkAgainstCli(page, paused);
  test.info().annotations.push({
    type: 'max |page − CLI| tensor value',
    description: `paused at step ${paused}: ${pausedDiff}; finished: ${finishedDiff}`,
  });
});
