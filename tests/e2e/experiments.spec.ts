/**
 * Experiments view end to end on wasm: runs the two-arm first-experiment recipe with 20 steps per
 * arm, reloads the page in the middle of the first arm (after its step-10 checkpoint), sees it
 * resume in that arm, and ends on the report with the base model and both arms' rows and the
 * overlaid training curves of both arms.
 */
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
import { expectReadable } from './readable';

test('a two-arm experiment survives a reload mid-arm and ends on the report', async ({ page }, testInfo) => {
  test.setTimeout(1_200_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await openView(page, 'Experiments');
  await expect(page.getByTestId('recipe-select')).toHaveValue('first-experiment');
  await page.getByTestId('steps-input').fill('20');
  await page.getByTestId('eval-limit-input').fill('2');
  await page.getByTestId('experiment-start').click();
  const progress = page.getByTestId('experiment-progress');
  await expect(progress.getByRole('progressbar', { name: 'Experiment progress' })).toBeVisible();
  // wait until the first arm is past its step-10 checkpoint, then reload mid-arm
  await expect
    .poll(
      async () => {
        const m = /SFT \(Korean side\): step (\d+)\/20/.exec((await progress.textContent()) ?? '');
        return m ? Number(m[1]) : 0;
      },
      { timeout: 600_000, intervals: [500] },
    )
    .toBeGreaterThanOrEqual(11);
  await shot(page, 'experiments-running');
  await page.reload();
  await waitForEngine(page);
  await expect(page.getByRole('tab', { name: 'Experiments' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('experiment-log')).toContainText('resuming first-experiment in arm sft-ko');
  // the resumed arm continues from its step-10 checkpoint, not from step 1
  await expect(page.getByTestId('experiment-log')).toContainText('sft-ko: resuming at step 10 of 20 steps', {
    timeout: 300_000,
  });
  const report = page.getByTestId('experiment-report');
  await expect(report).toContainText('done', { timeout: 900_000 });
  for (const id of ['base', 'sft-ko', 'clo']) await expect(page.getByTestId(`row-${id}`)).toBeVisible();
  await expect(page.getByTestId('row-base')).toContainText('base model');
  const curves = page.getByTestId('experiment-curves');
  await expect(curves.locator('canvas')).toBeVisible();
  await expect(curves.locator('.u-legend')).toContainText('SFT (Korean side)');
  await expect(curves.locator('.u-legend')).toContainText('CLO (LoRA)');
  await expect(page.getByTestId('experiment-tradeoff').locator('img')).toHaveAttribute('src', /%3Crect/);
  // the report states each part of the claim with its verdict at this budget
  await expect(report.getByTestId('claim-check')).toHaveCount(4);
  await expect(report.getByTestId('claim-checks')).toContainText('checks supported at this budget');
  await shot(page, 'experiments-report');
  await expectReadable(page, testInfo, 'Experiments report');
});
