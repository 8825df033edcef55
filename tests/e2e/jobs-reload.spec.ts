/**
 * A reload during an evaluation says what it interrupted and offers to restart it: the job runtime
 * keeps the job in flight in sessionStorage; after the reload the page shows a notice with a Restart
 * button, which submits the same evaluation again.
 */
import { test, expect, openView, waitForEngine } from './fixtures';

test('reload during an evaluation: a notice names the lost job and Restart runs it again', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Evaluate');
  for (const t of ['kobest_copa', 'kobest_hellaswag', 'kobest_sentineg', 'kobest_wic'])
    await page.getByTestId(`task-${t}`).uncheck();
  await page.getByTestId('task-kobest_boolq').check();
  await page.getByTestId('eval-limit').fill('');
  await page.getByTestId('eval-start').click();
  const bar = page.getByRole('progressbar', { name: 'Evaluation progress' });
  await expect(bar).toBeVisible();
  await expect(page.getByTestId('eval-status')).toContainText('kobest_boolq', { timeout: 120_000 });

  await page.reload();
  const notice = page.getByTestId('interrupted-jobs');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('Evaluation: stories260K (base) was running when the page reloaded');
  await expect(page.getByRole('progressbar', { name: 'Evaluation progress' })).toBeHidden();

  await notice.getByRole('button', { name: 'Restart' }).click();
  await expect(notice).toBeHidden();
  await openView(page, 'Evaluate');
  await expect(page.getByTestId('eval-status')).toContainText('Evaluating stories260K (base)');
  await expect(page.getByTestId('eval-status')).toContainText('kobest_boolq (task 1 of 1)', { timeout: 120_000 });
  // the restarted job is in flight again: a second reload finds it too
  await page.reload();
  await expect(page.getByTestId('interrupted-jobs')).toContainText('Evaluation: stories260K (base)');
  await page.getByTestId('interrupted-jobs').getByRole('button', { name: 'Dismiss notice' }).click();
  await expect(page.getByTestId('interrupted-jobs')).toBeHidden();
});
