/**
 * Cancel stops an evaluation within one item and keeps what finished: KoBEST SentiNeg then WiC with
 * no item limit, Cancel once WiC has begun. Within 2 s the result is shown with SentiNeg's scores and
 * a line saying WiC was cancelled (the evaluation loop yields to the worker's messages between items,
 * so the cancel reaches it; the tasks done before it are the job's result).
 */
import { test, expect, openView, waitForEngine } from './fixtures';

test('cancel an evaluation with no item limit: it stops within 2 s and keeps the finished task', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Evaluate');
  for (const t of ['kobest_boolq', 'kobest_copa', 'kobest_hellaswag']) await page.getByTestId(`task-${t}`).uncheck();
  await page.getByTestId('task-kobest_sentineg').check();
  await page.getByTestId('task-kobest_wic').check();
  await page.getByTestId('eval-limit').fill('');
  await page.getByTestId('eval-start').click();
  const bar = page.getByRole('progressbar', { name: 'Evaluation progress' });
  await expect(bar).toBeVisible();
  // SentiNeg (397 items) has finished once WiC (1,260 items) is under way
  await expect(page.getByTestId('eval-status')).toContainText('kobest_wic (task 2 of 2)', { timeout: 240_000 });
  await page.getByTestId('eval-cancel').click();

  const partial = page.getByTestId('eval-partial');
  await expect(partial).toBeVisible({ timeout: 2_000 });
  await expect(partial).toContainText('Cancelled during kobest_wic');
  await expect(bar).toBeHidden();
  const latest = page.getByTestId('eval-latest');
  await expect(latest.locator('[data-testid="eval-latest-row"][data-task="kobest_sentineg"]')).toBeVisible();
  await expect(latest.locator('[data-testid="eval-latest-row"][data-task="kobest_wic"]')).toHaveCount(0);
  // the saved record lists SentiNeg with all its items
  await expect(latest.locator('[data-task="kobest_sentineg"] td').first()).toHaveText('397');
  // the worker is free again: another evaluation runs
  await page.getByTestId('eval-limit').fill('2');
  await page.getByTestId('eval-start').click();
  await expect(partial).toBeHidden({ timeout: 120_000 });
  await expect(latest.locator('[data-testid="eval-latest-row"][data-task="kobest_wic"]')).toBeVisible();
});
