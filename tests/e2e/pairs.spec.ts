/**
 * Pairs view end to end:
 * - the bundled Alpaca/KoAlpaca pairs with their own file as the corpus (labelled as copying, not
 *   translation), saved in IndexedDB and still there after a reload, then trained on;
 * - the built-in translator with no network: it either works or stops within its (short) time
 *   limit with the reason and what to do next;
 * - the parallel-corpus lookup with data no bundled corpus contains: the options say so, a warning
 *   says why, and every failed record is listed with the part and the reason.
 */
import { resolve } from 'node:path';
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
import { expectReadable } from './readable';

const PAIRED = 'paired-alpaca-koalpaca-en-ko';
const DOLLY = 'dolly-en';

test('build pairs with the parallel translator, reload, then start a CLO run on them', async ({ page }, testInfo) => {
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Pairs');

  // English side of the bundled Alpaca/KoAlpaca pairs (335 lines, one with an empty en_output)
  await page.getByTestId('pairs-english').selectOption(PAIRED);
  await expect(page.getByTestId('pairs-english-summary')).toContainText('334 of 335 rows accepted');
  await expect(page.getByTestId('pairs-already-paired')).toContainText('not translation');
  await page.getByTestId('pairs-limit').fill('12');

  // the same file as a lookup table: every part is found, the joint text never is → all "fallback";
  // the option and the summary say that this copies the file's own Korean side
  await page.getByTestId('translator-parallel').check();
  const option = page.getByTestId('pairs-parallel').locator(`option[value="${PAIRED}"]`);
  await expect(option).toContainText('same file as the English data, copies its own Korean side (not translation');
  await page.getByTestId('pairs-parallel').selectOption(PAIRED);
  await expect(page.getByTestId('parallel-summary')).toContainText('12 of 12 records can be translated in full');
  await expect(page.getByTestId('parallel-same-file')).toContainText('Nothing is translated');

  await page.getByTestId('pairs-run').click();
  await expect(page.getByTestId('pairs-message')).toHaveText('Done: 12 pairs.');
  const counts = page.getByTestId('pairs-counts');
  await expect(counts).toHaveAttribute('data-joint', '0');
  await expect(counts).toHaveAttribute('data-fallback', '12');
  await expect(counts).toHaveAttribute('data-failed', '0');
  await expect(page.getByRole('progressbar', { name: 'Records translated' })).toHaveAttribute('aria-valuenow', '12');
  const rows = page.getByTestId('pair-row');
  await expect(rows).toHaveCount(12);
  // human column names, not the row fields
  const headers = page.getByTestId('pairs-preview').locator('th');
  await expect(headers).toContainText(['English prompt', 'Korean prompt', 'English answer', 'Korean answer']);
  await expect(page.getByTestId('pairs-preview')).not.toContainText(/xEn|yTgt/);
  // first row of the file: the Korean instruction comes from ko_instruction
  await expect(rows.first()).toContainText('Give three tips for staying healthy.');
  await expectReadable(page, testInfo, 'Pairs preview');
  await expect(rows.first()).toContainText('건강을 유지하기 위한 세 가지 팁을 알려주세요.');
  await shot(page, 'pairs-built');

  // the job's state lives outside the view: another tab and back keeps it
  await openView(page, 'Model');
  await openView(page, 'Pairs');
  await expect(rows).toHaveCount(12);

  // built pairs are in IndexedDB: after a reload the newest set is shown again
  await page.reload();
  await waitForEngine(page);
  await openView(page, 'Pairs');
  await expect(page.getByTestId('pairs-saved-item')).toHaveCount(1);
  await expect(page.getByTestId('pairs-saved-item')).toContainText(
    'paired_alpaca_koalpaca_en_ko.jsonl → ko (12 pairs)',
  );
  await expect(rows).toHaveCount(12);
  await expect(rows.first()).toContainText('건강을 유지하기 위한 세 가지 팁을 알려주세요.');
  await expect(page.getByTestId('pairs-shown')).toContainText('same file');

  // wasm forced: this test is about the pairs, not the backend (auto would time both backends first)
  await forceBackend(page, 'wasm');
  await page.getByTestId('pairs-train').click();
  await expect(page.getByRole('tab', { name: 'Train' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('field-objective')).toHaveValue('clo');
  await expect(page.getByTestId('train-dataset').locator('option:checked')).toContainText(
    'Pairs paired_alpaca_koalpaca_en_ko.jsonl → ko (12)',
  );
  for (const [k, v] of Object.entries({ steps: 3, batchSize: 2, maxSeqLen: 64 }))
    await page.getByTestId(`field-${k}`).fill(String(v));
  await page.getByTestId('start').click();
  await expect
    .poll(
      async () => Number(await page.locator('[data-testid="chart"][data-title="loss"]').getAttribute('data-points')),
      { timeout: 180_000 },
    )
    .toBeGreaterThanOrEqual(1);
  await shot(page, 'pairs-training');
  // the 3-step run on the built pairs finishes (wasm is quick enough that Stop would come too late)
  await expect(page.getByText(/Run completed/)).toBeVisible({ timeout: 180_000 });
});

test('offline, the built-in translator works or stops within its time limit with the reason', async ({
  page,
  context,
}) => {
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Pairs');
  await page.getByTestId('pairs-english').selectOption(DOLLY);
  await expect(page.getByTestId('pairs-english-summary')).toContainText('rows accepted');
  await page.getByTestId('pairs-limit').fill('3');

  const browserRadio = page.getByTestId('translator-browser');
  if (await browserRadio.isDisabled()) {
    // no Translator API in this Chromium: the option says so and is not the default
    await expect(page.getByText('(not available in this browser)')).toBeVisible();
    await expect(page.getByTestId('translator-parallel')).toBeChecked();
    return;
  }
  await browserRadio.check();
  await page.getByTestId('browser-timeout').fill('3');
  await context.setOffline(true);
  const started = Date.now();
  await page.getByTestId('pairs-run').click();
  // progress is visible at once: records 0 of 3
  await expect(page.getByRole('progressbar', { name: 'Records translated' })).toHaveAttribute('aria-valuemax', '3');
  const done = page.getByTestId('pairs-message').filter({ hasText: /^Done: \d+ pairs/ });
  const stopped = page
    .getByTestId('pairs-problem')
    .or(page.getByTestId('pairs-message').filter({ hasText: /timeout/ }));
  await expect(done.or(stopped)).toBeVisible({ timeout: 15_000 });
  if (await stopped.isVisible()) {
    // 3 s limit (+ the page's own latency), reason and what to do next
    expect(Date.now() - started).toBeLessThan(12_000);
    await expect(stopped).toContainText(/timeout: (not ready after 3 s|no translation within 3 s)/);
    await expect(page.getByTestId('pairs-hint')).toContainText('language pack');
    await expect(page.getByTestId('pairs-hint')).toContainText('parallel-corpus lookup');
    await expect(page.getByTestId('pairs-run')).toBeEnabled();
  }
  await shot(page, 'pairs-browser-offline');
  await context.setOffline(false);
});

test('the parallel lookup with data no corpus contains: options, warning and per-record reasons', async ({ page }) => {
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Pairs');
  await page.getByTestId('pairs-english').selectOption(DOLLY);
  await expect(page.getByTestId('pairs-english-summary')).toContainText('rows accepted');
  await page.getByTestId('pairs-limit').fill('5');
  await page.getByTestId('translator-parallel').check();

  // every bundled corpus is measured against the 5 records: none contains them
  const select = page.getByTestId('pairs-parallel');
  await expect(select.locator('option[value="parallel-jhe-en-ko"]')).toContainText('none of the 5 records is in it');
  await expect(select.locator('option[value="parallel-jhe-en-ko"]')).toBeDisabled();
  await expect(page.getByTestId('parallel-warning')).toContainText('No bundled corpus contains these English texts');

  // load a sentence corpus anyway (as an upload): the summary warns before the run
  await page.getByLabel(/Or upload pairs/).setInputFiles(resolve('public/data/parallel/jhe_en_ko_300.jsonl'));
  await expect(page.getByTestId('parallel-summary')).toContainText('0 of 5 records can be translated in full');
  await expect(page.getByTestId('parallel-mismatch')).toContainText('None of the chosen records will match');

  await page.getByTestId('pairs-run').click();
  await expect(page.getByTestId('pairs-message')).toHaveText('Done: 0 pairs; 5 of 5 records failed (reasons below).');
  await expect(page.getByTestId('pairs-hint')).toContainText('word for word');
  const failures = page.getByTestId('failure-row');
  await expect(failures).toHaveCount(5);
  // record 1 of dolly: its instruction is the first text the lookup misses
  await expect(failures.first()).toContainText('instruction');
  await expect(failures.first()).toContainText('missing: no entry for "When did Virgin Australia start operating?"');
  await shot(page, 'pairs-parallel-mismatch');
});
