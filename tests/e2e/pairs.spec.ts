/**
 * Pairs view end to end: English instructions from a bundled set, translated through the bundled
 * parallel corpus (lookup), saved as a CLO dataset, and trained on in the worker.
 */
import { test, expect, shot, openView, waitForEngine } from './fixtures';

const PAIRED = 'paired-alpaca-koalpaca-en-ko';

test('build pairs with the parallel translator, then start a CLO run on them', async ({ page }) => {
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Pairs');

  // English side of the bundled Alpaca/KoAlpaca pairs (335 lines, one with an empty en_output)
  await page.getByTestId('pairs-english').selectOption(PAIRED);
  await expect(page.getByTestId('pairs-english-summary')).toContainText('334 of 335 rows accepted');
  await page.getByTestId('pairs-limit').fill('12');

  // the same file as a lookup table: every part is found, the joint text never is → all "fallback"
  await page.getByTestId('translator-parallel').check();
  await page.getByTestId('pairs-parallel').selectOption(PAIRED);
  await expect(page.getByTestId('parallel-summary')).toContainText('pairs');

  await page.getByTestId('pairs-run').click();
  await expect(page.getByTestId('pairs-message')).toHaveText('Done: 12 pairs.');
  const counts = page.getByTestId('pairs-counts');
  await expect(counts).toHaveAttribute('data-joint', '0');
  await expect(counts).toHaveAttribute('data-fallback', '12');
  await expect(counts).toHaveAttribute('data-failed', '0');
  await expect(page.getByRole('progressbar', { name: 'Records translated' })).toHaveAttribute('aria-valuenow', '12');
  const rows = page.getByTestId('pair-row');
  await expect(rows).toHaveCount(12);
  // first row of the file: the Korean instruction comes from ko_instruction
  await expect(rows.first()).toContainText('Give three tips for staying healthy.');
  await expect(rows.first()).toContainText('건강을 유지하기 위한 세 가지 팁을 알려주세요.');
  await shot(page, 'pairs-built');

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
