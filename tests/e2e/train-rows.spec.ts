/**
 * Training the added tokens' rows from the page, on wasm. The Vocabulary view extends stories260K by a
 * few Korean tokens and the page switches to the extended model; the Train view names it, offers the
 * new rows (on by default, with their own learning rate) and trains them with LoRA; the run list names
 * the model. The rows in the run's checkpoint moved away from the extended model's, and the adapter
 * zip (PEFT `trainable_token_indices`), the merged model zip and the TRL bundle zip carry exactly those rows.
 * Then: a reload keeps the extended model and the Train form; resuming the run on another model is
 * refused in the error banner, and once the right model is back the resume runs and the banner goes.
 */
import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';
import type { Page } from '@playwright/test';
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
import { readSafetensors } from '../../src/lib/formats/safetensors';

const ADD = 48;
const BASE_VOCAB = 512;
const DIM = 64;
const KO_SET = 'ko-chatbot';

/** One record of the page's IndexedDB ('clo-lab', store 'kv'). */
async function idbGet<T>(page: Page, key: string): Promise<T> {
  return page.evaluate(async (k) => {
    const req = indexedDB.open('clo-lab');
    const db: IDBDatabase = await new Promise(
      (r, j) => ((req.onsuccess = () => r(req.result)), (req.onerror = () => j(req.error))),
    );
    const g = db.transaction('kv').objectStore('kv').get(k);
    return await new Promise<T>((r) => (g.onsuccess = () => r(g.result as T)));
  }, key) as Promise<T>;
}

/** Rows [BASE_VOCAB, BASE_VOCAB + ADD) of `model.embed_tokens.weight` in a stored model's safetensors, read in the page. */
async function storedModelRows(page: Page, id: string): Promise<number[]> {
  return page.evaluate(
    async ({ key, from, n, dim }) => {
      const req = indexedDB.open('clo-lab');
      const db: IDBDatabase = await new Promise(
        (r, j) => ((req.onsuccess = () => r(req.result)), (req.onerror = () => j(req.error))),
      );
      const g = db.transaction('kv').objectStore('kv').get(key);
      const files = await new Promise<Record<string, Uint8Array>>((r) => (g.onsuccess = () => r(g.result)));
      const bytes = files['model.safetensors'];
      const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as Record<
        string,
        { dtype: string; data_offsets: [number, number] }
      >;
      const t = header['model.embed_tokens.weight'];
      const start = 8 + len + t.data_offsets[0];
      const all = new Float32Array(bytes.slice(start, 8 + len + t.data_offsets[1]).buffer);
      return Array.from(all.subarray(from * dim, (from + n) * dim));
    },
    { key: `modelfiles:${id}`, from: BASE_VOCAB, n: ADD, dim: DIM },
  );
}

/** Extends stories260K in the Vocabulary view (mean init, few held-out texts) and uses the result. */
async function extendAndUse(page: Page): Promise<string> {
  await openView(page, 'Vocabulary');
  await page.getByTestId('vocab-add').fill(String(ADD));
  await page.getByTestId('vocab-init').selectOption('mean');
  await page.getByTestId('vocab-heldout').fill('5');
  await page.getByTestId('vocab-extend').click();
  await expect(page.getByTestId('vocab-result')).toBeVisible({ timeout: 120_000 });
  const name = (await page.getByTestId('vocab-model-name').textContent())!;
  await page.getByTestId('vocab-use').click();
  await waitForEngine(page);
  return name;
}

async function useKoreanData(page: Page): Promise<void> {
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${KO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  await openView(page, 'Train');
}

async function fillForm(page: Page, fields: Record<string, number>): Promise<void> {
  for (const [k, v] of Object.entries(fields)) await page.getByTestId(`field-${k}`).fill(String(v));
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

test('the Train view trains the new token rows of an extended model; checkpoint, adapter, merged and TRL bundle zips carry them', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');

  await openView(page, 'Train');
  await expect(page.getByTestId('train-model-name')).toHaveText('stories260K');
  await expect(page.getByTestId('rows-settings')).toHaveCount(0);

  const name = await extendAndUse(page);
  await useKoreanData(page);
  await expect(page.getByTestId('train-model-name')).toHaveText(name, { timeout: 60_000 });
  await expect(page.getByTestId('train-model')).toContainText(`${ADD} of them added`);
  await page.getByTestId('field-objective').selectOption('pt');
  const rowsBox = page.getByTestId('rows-settings');
  await expect(rowsBox).toContainText(`Train the ${ADD} new token rows (ids ${BASE_VOCAB}–${BASE_VOCAB + ADD - 1})`);
  await expect(page.getByTestId('field-trainRows')).toBeChecked();
  await expect(page.getByTestId('field-rowsLr')).toHaveValue('0.03');
  await fillForm(page, { steps: 3, batchSize: 2, maxSeqLen: 48, warmupSteps: 0, checkpointEvery: 1, rowsLr: 0.05 });
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 120_000 });

  const row = page.getByTestId('run-row').first();
  await expect(row.getByTestId('run-model')).toHaveText(name);
  await expect(row).toContainText('pt + rows');
  const runId = (await row.getAttribute('data-run-id'))!;
  await shot(page, 'train-rows');

  // the checkpoint holds the rows, moved from the extended model's initial rows
  const ckpt = await idbGet<{
    config: { trainRowsFrom?: number; rowsLr?: number };
    rows?: { start: number; dim: number; embed: Float32Array };
  }>(page, `ckpt:${runId}`);
  expect(ckpt.config.trainRowsFrom).toBe(BASE_VOCAB);
  expect(ckpt.config.rowsLr).toBe(0.05);
  expect(ckpt.rows?.start).toBe(BASE_VOCAB);
  const trained = Array.from(ckpt.rows!.embed);
  expect(trained.length).toBe(ADD * DIM);
  const metas = await page.evaluate(async () => {
    const req = indexedDB.open('clo-lab');
    const db: IDBDatabase = await new Promise((r) => (req.onsuccess = () => r(req.result)));
    const g = db.transaction('kv').objectStore('kv').getAllKeys();
    const keys = await new Promise<IDBValidKey[]>((r) => (g.onsuccess = () => r(g.result)));
    return keys.filter((k) => typeof k === 'string' && k.startsWith('modelmeta:')) as string[];
  });
  expect(metas.length).toBe(1);
  const initial = await storedModelRows(page, metas[0].slice('modelmeta:'.length));
  const moved = maxAbsDiff(trained, initial);
  test.info().annotations.push({ type: 'max |trained − initial| row value', description: String(moved) });
  expect(moved).toBeGreaterThan(1e-3);

  // the adapter zip: PEFT's trainable_token_indices and the rows' values
  const [adapterDl] = await Promise.all([
    page.waitForEvent('download'),
    row.getByRole('button', { name: /^Download the adapter/ }).click(),
  ]);
  const adapter = unzipSync(new Uint8Array(readFileSync((await adapterDl.path())!)));
  const cfg = JSON.parse(strFromU8(adapter['adapter_config.json'])) as {
    trainable_token_indices?: { embed_tokens: number[] };
  };
  expect(cfg.trainable_token_indices?.embed_tokens).toEqual(Array.from({ length: ADD }, (_, i) => BASE_VOCAB + i));
  const aw = await readSafetensors(adapter['adapter_model.safetensors'], 'adapter_model.safetensors');
  const delta = aw.tensors.get('base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta')!;
  expect(delta.shape).toEqual([ADD, DIM]);
  expect(maxAbsDiff(delta.data as Float32Array, trained)).toBe(0);

  // the merged model zip: the trained rows in the embedding, and vocab.json with the added count
  const [mergedDl] = await Promise.all([page.waitForEvent('download'), row.getByTestId('run-merged').click()]);
  const merged = unzipSync(new Uint8Array(readFileSync((await mergedDl.path())!)));
  expect(JSON.parse(strFromU8(merged['vocab.json']))).toMatchObject({ added: ADD, vocab_size: BASE_VOCAB + ADD });
  const mw = await readSafetensors(merged['model.safetensors'], 'model.safetensors');
  const embed = mw.tensors.get('model.embed_tokens.weight')!;
  expect(embed.shape).toEqual([BASE_VOCAB + ADD, DIM]);
  const mergedRows = (embed.data as Float32Array).subarray(BASE_VOCAB * DIM);
  expect(maxAbsDiff(mergedRows, trained)).toBe(0);

  // the TRL bundle zip: the same rows as PEFT trainable tokens in adapter/, the run's step in state/
  const [trlDl] = await Promise.all([page.waitForEvent('download'), row.getByTestId('run-trl').click()]);
  const trl = unzipSync(new Uint8Array(readFileSync((await trlDl.path())!)));
  const tcfg = JSON.parse(strFromU8(trl['adapter/adapter_config.json'])) as typeof cfg;
  expect(tcfg.trainable_token_indices?.embed_tokens).toEqual(cfg.trainable_token_indices?.embed_tokens);
  const tw = await readSafetensors(trl['adapter/adapter_model.safetensors'], 'adapter_model.safetensors');
  const tdelta = tw.tensors.get('base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta')!;
  expect(maxAbsDiff(tdelta.data as Float32Array, trained)).toBe(0);
  expect(JSON.parse(strFromU8(trl['state/lab_state.json']))).toMatchObject({ step: 3 });
  const base = await readSafetensors(trl['base/model.safetensors'], 'model.safetensors');
  expect(base.tensors.get('model.embed_tokens.weight')!.shape).toEqual([BASE_VOCAB + ADD, DIM]);
});

test('a reload keeps the extended model and the Train form; a refused resume leaves the banner once the run resumes', async ({
  page,
  errorLog,
}) => {
  test.setTimeout(300_000);
  const STEPS = 40;
  errorLog.allow.push('but stories260K');
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  const name = await extendAndUse(page);
  await useKoreanData(page);
  await expect(page.getByTestId('train-model-name')).toHaveText(name, { timeout: 60_000 });
  await page.getByTestId('field-objective').selectOption('sft');
  await fillForm(page, { steps: STEPS, batchSize: 1, maxSeqLen: 48, warmupSteps: 0, checkpointEvery: 1, rowsLr: 0.02 });
  await page.getByLabel('Run name').fill('resume-me');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', /running|completed/);
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'paused', { timeout: 60_000 });
  const row = page.getByTestId('run-row').first();
  // the run list shows the pause checkpoint once it is stored
  await expect(row.getByTestId('run-checkpoint')).toHaveText(new RegExp(`^\\d+ / ${STEPS}$`));
  const paused = Number((await row.getByTestId('run-checkpoint').textContent())!.split('/')[0]);
  expect(paused).toBeLessThan(STEPS);

  // reload: the same model, the same form
  await page.reload();
  await waitForEngine(page);
  await openView(page, 'Train');
  await expect(page.getByTestId('train-model-name')).toHaveText(name, { timeout: 60_000 });
  await expect(page.getByTestId('field-objective')).toHaveValue('sft');
  await expect(page.getByTestId('field-steps')).toHaveValue(String(STEPS));
  await expect(page.getByTestId('field-maxSeqLen')).toHaveValue('48');
  await expect(page.getByTestId('field-rowsLr')).toHaveValue('0.02');
  await expect(page.getByLabel('Run name')).toHaveValue('resume-me');

  // resuming on another model is refused in the banner
  await openView(page, 'Model');
  await page.getByRole('button', { name: 'Back to stories260K' }).click();
  await expect(page.getByTestId('model-info')).toContainText('stories260K', { timeout: 60_000 });
  await openView(page, 'Train');
  await page.getByRole('button', { name: 'Resume resume-me from its checkpoint' }).click();
  await expect(page.getByTestId('error-banner')).toContainText('but stories260K', { timeout: 60_000 });

  // the right model back: the resume runs and the banner goes by itself
  await openView(page, 'Model');
  await page
    .getByTestId('stored-model-choice')
    .getByRole('button', { name: `Use ${name}` })
    .click();
  await expect(page.getByTestId('model-info')).toContainText(name, { timeout: 60_000 });
  await openView(page, 'Train');
  await expect(page.getByTestId('error-banner')).toBeVisible();
  await expect(page.getByTestId('train-model-name')).toHaveText(name, { timeout: 60_000 });
  await page.getByRole('button', { name: 'Resume resume-me from its checkpoint' }).click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 120_000 });
  await expect(page.getByTestId('run-row').first().getByTestId('run-checkpoint')).toHaveText(`${STEPS} / ${STEPS}`);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
