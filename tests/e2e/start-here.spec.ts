/**
 * The Start-here path a first-time visitor takes: the app opens on Start here (and remembers it was
 * seen), the screen explains the lab and CLO with the papers' links, and its one button runs the
 * first experiment to a before/after results page — once with wasm forced in the header, then once
 * on auto. The run is shortened with the test-only address parameters (`?first-steps=3&first-eval=2`);
 * the screen says so, and without them the recipe's real settings are shown.
 */
import type { Page } from '@playwright/test';
import { test, expect, shot, waitForEngine, forceBackend } from './fixtures';

const QUICK = '/?first-steps=3&first-eval=2';

async function numberIn(page: Page, testId: string): Promise<number> {
  const text = (await page.getByTestId(testId).textContent()) ?? '';
  return Number(/^[\d,.]+/.exec(text.trim())?.[0].replace(/,/g, '') ?? NaN);
}

async function runFirstExperiment(page: Page, backend: string, runLabel: RegExp): Promise<void> {
  const button = page.getByTestId('start-first-experiment');
  await expect(button).toHaveText(runLabel);
  await button.click();
  // progress shows beside the button, on the same screen
  const progress = page.getByTestId('first-progress');
  await expect(progress.getByRole('progressbar', { name: 'First experiment progress' })).toBeVisible();
  await expect(progress).toBeInViewport();
  await expect(progress).toHaveCount(0, { timeout: 600_000 });
  const results = page.getByTestId('first-results');
  await expect(results).toHaveAttribute('data-status', 'done', { timeout: 600_000 });
  await expect(page.getByTestId('first-error')).toHaveCount(0);
  await expect(results).toContainText(`on ${backend}`);
  await expect(results).toContainText('3 optimizer steps');

  // before/after: the base model's numbers and each arm's, with the change from the base
  const before = { ppl: await numberIn(page, 'before-ppl'), bpc: await numberIn(page, 'before-bpc') };
  expect(before.ppl).toBeGreaterThan(1);
  expect(before.bpc).toBeGreaterThan(0);
  for (const arm of ['sft-ko', 'clo']) {
    expect(await numberIn(page, `after-ppl-${arm}`)).toBeGreaterThan(1);
    expect(await numberIn(page, `after-bpc-${arm}`)).toBeGreaterThan(0);
    await expect(page.getByTestId(`after-ppl-${arm}`)).toContainText('×');
  }
  await expect(page.getByTestId('first-results-reading')).toContainText('English perplexity');
  // each part of the claim is stated with the verdict its numbers give, and the verdict agrees with them
  const checks = results.getByTestId('claim-check');
  await expect(checks).toHaveCount(4);
  const cloRatio = (await numberIn(page, 'after-ppl-clo')) / before.ppl;
  await expect(checks.nth(1)).toContainText('CLO keeps English near the base model');
  await expect(checks.nth(1)).toHaveAttribute('data-verdict', cloRatio <= 3 ? 'supported' : 'not supported');
  for (const v of await checks.evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict'))))
    expect(v).not.toBe('not measured');
  const curves = page.getByTestId('first-results-curves');
  await expect(curves.locator('canvas')).toBeVisible();
  await expect(curves.locator('.u-legend')).toContainText('SFT (Korean side)');
  await expect(curves.locator('.u-legend')).toContainText('CLO (LoRA)');
  await expect(results).toContainText('before (base model)');
  await expect(results).toContainText('after CLO (LoRA)');
}

test('a first visit opens on Start here, which is remembered and reachable again', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('tab', { name: 'Start here' })).toHaveAttribute('aria-selected', 'true');
  const start = page.getByTestId('start-here');
  await expect(start).toContainText('Cross-Lingual Optimization');
  await expect(start.getByRole('link', { name: /arXiv 2505\.14297/ })).toHaveAttribute(
    'href',
    'https://arxiv.org/abs/2505.14297',
  );
  await expect(start).toContainText('What you should not expect: Korean answers');
  // the real settings when the address does not shorten the run
  await expect(page.getByTestId('first-settings')).toContainText('100 steps each at batch 4');
  await expect(page.getByTestId('first-shortened')).toHaveCount(0);
  expect(await page.evaluate(() => localStorage.getItem('clo-lab:start-here-seen'))).not.toBeNull();
  await waitForEngine(page);
  await shot(page, 'start-here-first-load');

  // a second visit to the bare address opens the usual first view; the tab leads back
  await page.goto('/');
  await expect(page.getByRole('tab', { name: 'Model' })).toHaveAttribute('aria-selected', 'true');
  await page.getByRole('tab', { name: 'Start here' }).click();
  await expect(page.getByTestId('start-here')).toBeVisible();
});

test('the first experiment runs to its before/after results with wasm forced, then on auto', async ({ page }) => {
  test.setTimeout(900_000);
  await page.goto(QUICK);
  await expect(page.getByTestId('start-here')).toBeVisible();
  await expect(page.getByTestId('first-shortened')).toContainText('3 steps per arm');
  await waitForEngine(page);

  await forceBackend(page, 'wasm');
  await runFirstExperiment(page, 'wasm', /^Run the first experiment$/);
  await shot(page, 'start-here-results-wasm');

  // auto: on this machine it starts on wasm, passing over the software WebGPU adapter (the header says so)
  await forceBackend(page, 'auto');
  const auto = await waitForEngine(page);
  await runFirstExperiment(page, auto, /^Run the first experiment again$/);
  await shot(page, 'start-here-results-auto');

  // the results fit a phone screen (their table scrolls inside itself)
  await page.setViewportSize({ width: 390, height: 844 });
  await expect
    .poll(() => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth))
    .toBeLessThanOrEqual(0);
  await shot(page, 'start-here-results-390');
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByTestId('open-full-report').click();
  await expect(page.getByRole('tab', { name: 'Experiments' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('experiment-report')).toContainText('first-experiment');
});

test('the first experiment can be cancelled from Start here', async ({ page }) => {
  await page.goto(QUICK);
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await page.getByTestId('start-first-experiment').click();
  const progress = page.getByTestId('first-progress');
  await expect(progress).toContainText('base', { timeout: 120_000 });
  await page.getByTestId('first-cancel').click();
  await expect(page.getByTestId('start-first-experiment')).toBeVisible({ timeout: 120_000 });
  await expect(progress).toHaveCount(0);
  await expect(page.getByTestId('first-error')).toHaveCount(0);
});
