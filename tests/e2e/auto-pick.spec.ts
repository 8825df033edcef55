/**
 * "auto" decided by measurement (workers/train/auto-pick.ts, src/lib/backend/auto-pick.ts): the first
 * run of a model and batch shape times warm training steps on webgpu and wasm in the training worker,
 * with progress in the header, and keeps the faster. On this machine the only WebGPU adapter is
 * SwiftShader, so the measurement picks wasm, and the header shows both figures and the choice. The
 * pick is kept (IndexedDB): after a reload the same run shape trains without measuring again.
 * Small on purpose: stories260K, one CLO pair per step, 2 steps.
 */
import type { Page } from '@playwright/test';
import { test, expect, waitForEngine } from './fixtures';
import { phase, prepareCloRun } from './train-steps';

/** both figures and the choice; SwiftShader's figure may be a bound (its step ran past the budget) */
const LINE =
  /auto (measured|kept): wasm ([\d,.]+) tok\/s, webgpu <? ?([\d,.]+) tok\/s(?: \(first step only\)| \(a step ran past [\d.]+ s\))?: wasm/;

async function trainOnce(page: Page): Promise<void> {
  await prepareCloRun(page, { steps: 2, batchSize: 1, maxSeqLen: 48, checkpointEvery: 0 });
  await page.getByTestId('start').click();
  await expect(phase(page)).toHaveAttribute('data-phase', 'completed', { timeout: 120_000 });
}

test('auto measures webgpu and wasm for a run, picks wasm by its figures, shows both, and keeps the pick', async ({
  page,
}) => {
  await page.goto('/');
  await waitForEngine(page);
  // before any run: the start order only (the software adapter goes behind wasm), and a note that a run measures
  await expect(page.getByTestId('auto-pending')).toBeVisible();

  await prepareCloRun(page, { steps: 2, batchSize: 1, maxSeqLen: 48, checkpointEvery: 0 });
  await page.getByTestId('start').click();
  // the measuring shows while it runs
  await expect(page.getByTestId('auto-measuring')).toContainText(/measuring (webgpu|wasm): step \d of 3/);
  const pick = page.getByTestId('auto-pick');
  await expect(pick).toHaveText(LINE, { timeout: 120_000 });
  const text = (await pick.textContent()) ?? '';
  test.info().annotations.push({ type: 'auto-pick', description: text.trim() });
  const [, how, wasm, webgpu] = LINE.exec(text)!;
  expect(how).toBe('measured');
  // the choice follows the figures: wasm measured faster than the SwiftShader adapter
  const n = (s: string) => Number(s.replace(/,/g, ''));
  expect(n(wasm)).toBeGreaterThan(n(webgpu));
  await expect(page.getByTestId('backend-name')).toHaveText('wasm');
  await expect(page.getByTestId('auto-measuring')).toHaveCount(0);
  await expect(phase(page)).toHaveAttribute('data-phase', 'completed', { timeout: 120_000 });

  // a reload keeps the pick: the same shape trains again without measuring
  await page.reload();
  await waitForEngine(page);
  let measured = false;
  await page.exposeFunction('__sawMeasuring', () => (measured = true));
  await page.evaluate(() => {
    const w = window as unknown as { __sawMeasuring: () => void };
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="auto-measuring"]')) w.__sawMeasuring();
    }).observe(document.body, { childList: true, subtree: true });
  });
  await trainOnce(page);
  await expect(pick).toHaveText(LINE);
  expect(LINE.exec((await pick.textContent()) ?? '')![1]).toBe('kept');
  expect(measured).toBe(false);
});
