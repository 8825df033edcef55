/**
 * A Hugging Face model end to end in the browser: the test writes a random-weight
 * Llama in HF layout to disk, loads it through the Model view's folder picker, trains a few CLO
 * steps in the worker, evaluates it on KoBEST COPA, measures fidelity, plays with it, opens a
 * win-rate session on it and exports the adapter. Every step must use that model, not stories260K:
 * results and the export carry its name, and its dimensions (dim 48, vocab 300) are checked.
 * Then, back on stories260K, the run's adapter is refused with a message naming both models.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
import { TINY, writeTinyHfLlama } from './hf-model-fixture';

const NAME = 'tiny-ko-llama';
const CLO_SET = 'paired-alpaca-koalpaca-en-ko';
let dir = '';

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clo-hf-e2e-'));
  writeTinyHfLlama(dir, NAME);
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a Hugging Face folder: train CLO, evaluate, fidelity, playground, win rate and export all on that model', async ({
  page,
  errorLog,
}) => {
  test.setTimeout(480_000);
  // the refusal at the end is an expected error event
  errorLog.allow.push('was trained on');
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');

  // load the folder through the Model view's folder picker
  await openView(page, 'Model');
  await page.getByTestId('hf-loader').locator('input[webkitdirectory]').setInputFiles(join(dir, NAME));
  await expect(page.getByRole('heading', { name: `Loaded: ${NAME}` })).toBeVisible();
  const facts = page.getByTestId('model-info');
  await expect(facts).toContainText(NAME, { timeout: 120_000 });
  await expect(facts).toContainText(String(TINY.vocabSize));
  await expect(page.getByTestId('backend-name')).toHaveText('wasm');

  // a few CLO steps in the training worker
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  for (const [k, v] of Object.entries({ steps: 3, batchSize: 1, maxSeqLen: 160, warmupSteps: 0, checkpointEvery: 1 })) {
    await page.getByTestId(`field-${k}`).fill(String(v));
  }
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 240_000 });
  const runId = await page.getByTestId('run-row').first().getAttribute('data-run-id');
  expect(runId).toBeTruthy();
  // the run record carries the model it was trained on (name, kind and dimensions)
  const record = await page.evaluate(async (id) => {
    const req = indexedDB.open('clo-lab');
    const db: IDBDatabase = await new Promise(
      (r, j) => ((req.onsuccess = () => r(req.result)), (req.onerror = () => j(req.error))),
    );
    const tx = db.transaction('kv').objectStore('kv').get(`run:${id}`);
    return await new Promise<{
      modelName: string;
      model?: { name: string; kind: string; dims: { dim: number; vocabSize: number } };
    }>((r) => (tx.onsuccess = () => r(tx.result)));
  }, runId);
  expect(record.modelName).toBe(NAME);
  expect(record.model).toMatchObject({
    name: NAME,
    kind: 'hf-files',
    dims: { dim: TINY.dim, vocabSize: TINY.vocabSize },
  });

  // evaluate base and adapter on KoBEST COPA: results say which model produced them
  await openView(page, 'Evaluate');
  for (const t of ['kobest_boolq', 'kobest_hellaswag', 'kobest_wic', 'kobest_sentineg'])
    await page.getByTestId(`task-${t}`).uncheck();
  await page.getByTestId('eval-limit').fill('2');
  await expect(page.getByTestId('eval-target').locator('option').first()).toHaveText(`${NAME} (base model)`);
  await page.getByTestId('eval-target').selectOption(runId!);
  await page.getByTestId('eval-start').click();
  await expect(page.getByTestId('eval-latest')).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('eval-latest-model')).toHaveText(NAME);
  await expect(page.getByTestId('eval-latest-backend')).toHaveText('wasm');

  // fidelity of the adapter
  const panel = page.getByTestId('retention');
  await panel.getByTestId('retention-ppl').uncheck();
  await panel.getByTestId('retention-fidelity').check();
  await panel.getByTestId('retention-limit').fill('1');
  await panel.getByTestId('retention-tokens').fill('4');
  await panel.getByTestId('retention-start').click();
  await expect(panel.getByTestId('retention-latest-model')).toHaveText(NAME, { timeout: 180_000 });
  await shot(page, 'hf-evaluate');

  // playground: base and adapter generate on the loaded model
  await openView(page, 'Playground');
  await expect(page.getByTestId('play-model')).toHaveText(NAME);
  await page.getByLabel('Prompt').fill('안녕');
  await page.getByTestId('field-maxNewTokens').fill('4');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('generate')).toHaveText('Generate', { timeout: 120_000 });
  await expect(page.getByTestId('out-adapter')).not.toContainText('Pick a run');

  // win rate: answers generated by the evaluation worker on the same model
  await openView(page, 'Win rate');
  await expect(page.getByTestId('wr-y').locator('option[value="base"]')).toHaveText(`${NAME} (base model)`);
  await page.getByTestId('wr-max-tokens').fill('4');
  await page.getByTestId('wr-generate').click();
  await expect(page.getByTestId('wr-judging')).toBeVisible({ timeout: 180_000 });

  // export: the PEFT adapter names the model and has its shapes
  await openView(page, 'Train');
  const download = page.waitForEvent('download');
  await page
    .getByRole('button', { name: /Download the adapter of/ })
    .first()
    .click();
  const file = await (await download).path();
  const zip = unzipSync(new Uint8Array(readFileSync(file)));
  const cfg = JSON.parse(strFromU8(zip['adapter_config.json']));
  expect(cfg.base_model_name_or_path).toContain(NAME);
  const header = zip['adapter_model.safetensors'];
  const n = Number(new DataView(header.buffer, header.byteOffset).getBigUint64(0, true));
  const meta = JSON.parse(strFromU8(header.subarray(8, 8 + n)));
  const q = Object.entries(meta).find(([k]) => k.includes('q_proj.lora_A')) as [string, { shape: number[] }];
  expect(q[1].shape[1]).toBe(TINY.dim);

  // back on stories260K, the adapter trained on the tiny model is refused, naming both models
  await openView(page, 'Model');
  await page.getByRole('button', { name: 'Back to stories260K' }).click();
  await expect(page.getByTestId('model-info')).toContainText('stories260K', { timeout: 120_000 });
  await openView(page, 'Evaluate');
  await page.getByTestId('eval-target').selectOption(runId!);
  await page.getByTestId('eval-start').click();
  const alert = page.getByTestId('eval-status').getByRole('alert');
  await expect(alert).toContainText(NAME, { timeout: 120_000 });
  await expect(alert).toContainText('stories260K');
  await shot(page, 'hf-adapter-refused');
});
