/**
 * Evaluation on the wasm backend (forced in the header), with the threaded SIMD build that used to
 * crash the evaluation worker once Vite minified it ("e is not defined at
 * WasmBackendModuleThreadedSimd"), then after switching the header to another backend: the
 * evaluation worker follows without a reload for evaluation, retention and win-rate generation, and
 * labels its results with the backend it used. Retention's progress is checked to be in view at 390 px.
 */
import type { Page } from '@playwright/test';
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';

const CLO_SET = 'paired-alpaca-koalpaca-en-ko';

async function trainTinyRun(page: Page): Promise<void> {
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  for (const [k, v] of Object.entries({ steps: 2, batchSize: 1, maxSeqLen: 32, warmupSteps: 0, checkpointEvery: 1 })) {
    await page.getByTestId(`field-${k}`).fill(String(v));
  }
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 180_000 });
}

async function evaluateCopa(page: Page, limit = 2): Promise<void> {
  await openView(page, 'Evaluate');
  for (const t of ['kobest_boolq', 'kobest_hellaswag', 'kobest_wic', 'kobest_sentineg'])
    await page.getByTestId(`task-${t}`).uncheck();
  await page.getByTestId('eval-limit').fill(String(limit));
  await page.getByTestId('eval-start').click();
  await expect(page.getByTestId('eval-latest')).toBeVisible({ timeout: 180_000 });
}

test('wasm forced: threads in the header; evaluate, retention & fidelity and win rate run on wasm', async ({
  page,
}) => {
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  // the page is cross-origin isolated, so the threaded SIMD build runs (its pthreads load the factory
  // source that minification used to break), with tfjs's default count: half the logical cores
  const threads = page.getByTestId('wasm-threads');
  await expect(threads).toBeVisible();
  await expect(threads).not.toContainText('single-threaded build');
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  await expect(threads).toContainText(`${Math.max(1, Math.min(8, Math.floor(cores / 2)))} thread`);

  await evaluateCopa(page);
  await expect(page.getByTestId('eval-latest-backend')).toHaveText('wasm');
  await expect(page.getByTestId('eval-latest-model')).toHaveText('stories260K');
  await expect(page.getByTestId('eval-status').getByRole('alert')).toHaveCount(0);

  const panel = page.getByTestId('retention');
  await panel.getByTestId('retention-fidelity').check();
  await panel.getByTestId('retention-limit').fill('1');
  await panel.getByTestId('retention-tokens').fill('4');
  await panel.getByTestId('retention-start').click();
  await expect(panel.getByTestId('retention-table')).toBeVisible({ timeout: 180_000 });
  await expect(panel.getByTestId('retention-latest-backend')).toHaveText('wasm');
  await expect(page.getByTestId('eval-status').getByRole('alert')).toHaveCount(0);

  await trainTinyRun(page);
  await openView(page, 'Win rate');
  await page.getByTestId('wr-max-tokens').fill('4');
  await page.getByTestId('wr-generate').click();
  await expect(page.getByTestId('wr-judging')).toBeVisible({ timeout: 180_000 });
  await shot(page, 'wasm-winrate');
});

test('switching the backend in the header moves evaluation, retention and win rate without a reload', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await evaluateCopa(page, 1);
  await expect(page.getByTestId('eval-latest-backend')).toHaveText('wasm');

  await forceBackend(page, 'cpu');
  await evaluateCopa(page, 1);
  await expect(page.getByTestId('eval-latest-backend')).toHaveText('cpu');
  await shot(page, 'eval-after-switch');

  // retention on the switched backend; its progress shows at the top of what the person is looking at
  // (the Retention button sits far below the Evaluate status), on a phone-sized screen too
  await page.setViewportSize({ width: 390, height: 844 });
  const panel = page.getByTestId('retention');
  await panel.getByTestId('retention-fidelity').check();
  await panel.getByTestId('retention-limit').fill('2');
  await panel.getByTestId('retention-tokens').fill('8');
  await panel.getByTestId('retention-start').scrollIntoViewIfNeeded();
  await panel.getByTestId('retention-start').click();
  await expect(
    page.getByTestId('eval-status').getByRole('progressbar', { name: 'Evaluation progress' }),
  ).toBeInViewport();
  await expect(panel.getByTestId('retention-table')).toBeVisible({ timeout: 300_000 });
  await expect(panel.getByTestId('retention-latest-backend')).toHaveText('cpu');
  await expect(page.getByTestId('eval-status').getByRole('alert')).toHaveCount(0);
  await page.setViewportSize({ width: 1280, height: 800 });

  // win-rate answers are generated by the evaluation worker on the switched backend
  await trainTinyRun(page);
  await openView(page, 'Win rate');
  await page.getByTestId('wr-max-tokens').fill('4');
  await page.getByTestId('wr-generate').click();
  await expect(page.getByTestId('wr-judging')).toBeVisible({ timeout: 300_000 });
  await expect(page.getByTestId('backend-name')).toHaveText('cpu');
});
