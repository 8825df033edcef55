/**
 * Compare inits after "Use this model": it extends the model the extension above started from (not
 * the extended model in use), so its salt row's "bits/char at start" equals the extension's
 * bits/char after; each init's trained model is kept in the browser and can be used as the model.
 */
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';

test('Compare inits starts from the extension’s base and keeps its trained models', async ({ page }) => {
  test.setTimeout(600_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await openView(page, 'Vocabulary');
  await page.getByTestId('vocab-extend').click();
  await expect(page.getByTestId('vocab-result')).toBeVisible({ timeout: 180_000 });
  const after = (await page.getByTestId('bpc-after').textContent())!.trim();
  const extended = (await page.getByTestId('vocab-model-name').textContent())!;
  await page.getByTestId('vocab-use').click();
  await waitForEngine(page);
  await expect(page.getByTestId('compare-from')).toContainText('stories260K');

  await page.getByTestId('compare-steps').fill('2');
  await expect(page.getByTestId('compare-keep')).toBeChecked();
  await page.getByTestId('compare-start').click();
  const table = page.getByTestId('compare-table');
  await expect(table).toBeVisible({ timeout: 300_000 });
  await expect(table.getByRole('row', { name: /^salt/ }).getByRole('cell').first()).toHaveText(after);

  const use = page.getByTestId('compare-kept-mean').getByRole('button');
  await expect(use).toHaveText(`Use ${extended.replace('-salt', '-mean')}+pt2`);
  await use.click();
  await waitForEngine(page);
  await openView(page, 'Model');
  await expect(page.getByTestId('model-info')).toContainText('+pt2', { timeout: 60_000 });
});
