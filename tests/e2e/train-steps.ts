/**
 * Steps of the Train view shared by the run specs: load the bundled CLO pairs with settings, read
 * the live phase and step, read a stored run from IndexedDB.
 *
 *   await prepareCloRun(page, { steps: 30, batchSize: 2, maxSeqLen: 64, checkpointEvery: 0 });
 *   await page.getByTestId('start').click();
 *   await waitStep(page, 2);
 */
import type { Page } from '@playwright/test';
import { expect, openView } from './fixtures';

export const CLO_SET = 'paired-alpaca-koalpaca-en-ko';

export interface StoredRun {
  status: string;
  lastCheckpointStep: number | null;
  metrics: { step: number; loss: number }[];
}

/** Reads a stored run record straight from IndexedDB (database clo-lab, store kv). */
export async function storedRun(page: Page, runId: string): Promise<StoredRun> {
  return page.evaluate(
    (id) =>
      new Promise<StoredRun>((resolve, reject) => {
        const open = indexedDB.open('clo-lab');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction('kv').objectStore('kv').get(`run:${id}`);
          req.onsuccess = () => resolve(req.result as StoredRun);
          req.onerror = () => reject(req.error);
        };
      }),
    runId,
  );
}

/** Loads the bundled en–ko CLO pairs (unless stored) and opens the Train view with them selected and these settings. */
export async function prepareCloRun(page: Page, settings: Record<string, number>): Promise<void> {
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  const use = set.getByRole('button', { name: 'Use for training' });
  const load = set.getByRole('button', { name: /^Load/ });
  // stored already (e.g. by another tab): no Load button
  await expect(use.or(load)).toBeVisible();
  if (await load.isVisible()) await load.click();
  await use.click();
  await expect(page.getByRole('tab', { name: 'Train' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('field-objective')).toHaveValue('clo');
  for (const [k, v] of Object.entries(settings)) await page.getByTestId(`field-${k}`).fill(String(v));
}

export const phase = (page: Page) => page.getByTestId('run-phase');

export async function currentStep(page: Page): Promise<number> {
  return Number(await phase(page).getAttribute('data-step'));
}

export async function waitStep(page: Page, atLeast: number, timeout = 180_000): Promise<void> {
  await expect.poll(() => currentStep(page), { timeout, intervals: [250] }).toBeGreaterThanOrEqual(atLeast);
}

/**
 * Records every step the live-run line shows from now on (window.__steps), so a test can check a
 * resumed run never showed a step below its checkpoint.
 */
export async function recordSteps(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __steps: number[] };
    w.__steps = [];
    const seen = () => {
      const el = document.querySelector('[data-testid="run-phase"]');
      if (el) w.__steps.push(Number(el.getAttribute('data-step')));
    };
    seen();
    new MutationObserver(seen).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-step'],
    });
  });
}

export const recordedSteps = (page: Page) => page.evaluate(() => (window as unknown as { __steps: number[] }).__steps);
