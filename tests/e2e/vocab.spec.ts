/**
 * The Vocabulary step end to end, on wasm: extend stories260K with a small N from
 * the bundled Korean corpus in the vocabulary worker, check that held-out tokens/char drops and the
 * coloured before/after sample shows new tokens; reload the page (the extended model is in
 * IndexedDB), pick it in the Model view, train a few steps on it and generate once. The workers
 * must use the extended model: its name and vocabulary size show in the Model view, the run
 * record's dimensions and the Playground.
 */
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
import { expectReadable } from './readable';

const ADD = 96;
const BASE_VOCAB = 512;
const CLO_SET = 'paired-alpaca-koalpaca-en-ko';

test('extend stories260K, reload, train and generate on the stored extended model', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');

  // clear errors: N = 0 is refused before any work, in one line
  await openView(page, 'Vocabulary');
  await page.getByTestId('vocab-add').fill('0');
  await page.getByTestId('vocab-extend').click();
  await expect(page.getByTestId('vocab-error')).toContainText('N new tokens must be a whole number of at least 1');

  // more tokens than an uploaded corpus gives: one line naming the file
  await page.getByTestId('corpus-file').check();
  await page.getByTestId('corpus-file-input').setInputFiles({
    name: 'tiny.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('가나다 가나다\n가나다 라마\n'),
  });
  await page.getByTestId('vocab-add').fill('500');
  await page.getByTestId('vocab-extend').click();
  await expect(page.getByTestId('vocab-error')).toContainText('tiny.txt: the corpus gives only', { timeout: 60_000 });

  // a corrupt donor: one line naming the file
  await page.getByTestId('corpus-bundled').check();
  await page.getByText('Optional SALT donor').click();
  await page.getByTestId('donor-matrix').setInputFiles({
    name: 'bad-donor.safetensors',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('this is not a safetensors file'),
  });
  await page.getByTestId('donor-vocab').setInputFiles({
    name: 'vocab.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('[PAD]\n가\n나\n'),
  });
  await page.getByTestId('vocab-add').fill(String(ADD));
  await page.getByTestId('vocab-extend').click();
  await expect(page.getByTestId('vocab-error')).toContainText('bad-donor.safetensors', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Remove donor' }).click();

  // extend with a small N from the bundled corpus (mean init: the skip-gram of salt is covered by the unit tests)
  await page.getByTestId('vocab-init').selectOption('mean');
  await page.getByTestId('vocab-heldout').fill('5');
  await page.getByTestId('vocab-extend').click();
  const result = page.getByTestId('vocab-result');
  await expect(result).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('vocab-error')).toHaveCount(0);
  await expect(page.getByTestId('vocab-size')).toHaveText(String(BASE_VOCAB + ADD));
  const before = Number(await page.getByTestId('tpc-before').textContent());
  const after = Number(await page.getByTestId('tpc-after').textContent());
  expect(before).toBeGreaterThan(2);
  expect(after).toBeLessThan(before * 0.8);
  expect(Number.isFinite(Number(await page.getByTestId('bpc-after').textContent()))).toBe(true);
  // the coloured sample: fewer tokens after, some of them new
  const sb = page.getByTestId('sample-before');
  const sa = page.getByTestId('sample-after');
  await expect(sa.getByTestId('token').first()).toBeVisible();
  expect(Number(await sa.getAttribute('data-count'))).toBeLessThan(Number(await sb.getAttribute('data-count')));
  expect(Number(await sa.getAttribute('data-added'))).toBeGreaterThan(0);
  expect(Number(await sb.getAttribute('data-added'))).toBe(0);
  await expect(sa.locator('.tok.added').first()).toBeVisible();
  const name = (await page.getByTestId('vocab-model-name').textContent())!;
  expect(name).toContain(`vocab${ADD}`);
  await shot(page, 'vocab-extended');
  await expectReadable(page, testInfo, 'Vocabulary result');

  // reload: the extended model is still there (IndexedDB); pick it in the Model view
  await page.reload();
  await waitForEngine(page);
  await expect(page.getByTestId('backend-name')).toHaveText('wasm');
  await openView(page, 'Model');
  await page
    .getByTestId('stored-model-choice')
    .getByRole('button', { name: `Use ${name}` })
    .click();
  const facts = page.getByTestId('model-info');
  await expect(facts).toContainText(name, { timeout: 60_000 });
  await expect(facts).toContainText(String(BASE_VOCAB + ADD));

  // train 2 steps on it in the training worker
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  for (const [k, v] of Object.entries({ steps: 2, batchSize: 1, maxSeqLen: 64, warmupSteps: 0, checkpointEvery: 1 }))
    await page.getByTestId(`field-${k}`).fill(String(v));
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 60_000 });
  const runId = await page.getByTestId('run-row').first().getAttribute('data-run-id');
  const record = await page.evaluate(async (id) => {
    const req = indexedDB.open('clo-lab');
    const db: IDBDatabase = await new Promise(
      (r, j) => ((req.onsuccess = () => r(req.result)), (req.onerror = () => j(req.error))),
    );
    const tx = db.transaction('kv').objectStore('kv').get(`run:${id}`);
    return await new Promise<{ modelName: string; model?: { kind: string; dims: { vocabSize: number } } }>(
      (r) => (tx.onsuccess = () => r(tx.result)),
    );
  }, runId);
  expect(record.modelName).toBe(name);
  expect(record.model).toMatchObject({ kind: 'stored', dims: { vocabSize: BASE_VOCAB + ADD } });

  // generate once with base and adapter on the extended model
  await openView(page, 'Playground');
  await expect(page.getByTestId('play-model')).toHaveText(name);
  await page.getByLabel('Prompt').fill('오늘은 날씨가');
  await page.getByTestId('field-maxNewTokens').fill('4');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('generate')).toHaveText('Generate', { timeout: 60_000 });
  await expect(page.getByTestId('out-adapter')).not.toContainText('Pick a run');
  await shot(page, 'vocab-playground');
});
