/**
 * Results with rigour and charts that work, on wasm (forced in the header): an evaluation shows each
 * accuracy with its Wilson 95% interval and the chance level, the comparison table and drill-down carry
 * intervals and a chance row; the learning-rate chart's tick labels are not all "0" and the legend shows
 * values instead of "--"; Compare overlays the curves of two ticked runs (two series in one legend).
 */
import type { Locator, Page } from '@playwright/test';
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
import { expectReadable } from './readable';

const CLO_SET = 'paired-alpaca-koalpaca-en-ko';
const INTERVAL = /^\[\d{1,3}\.\d, \d{1,3}\.\d\]$/;

/** Starts a short run; `whileRunning` runs between the start and the run's completion. */
async function train(
  page: Page,
  name: string,
  first: boolean,
  steps = 4,
  whileRunning?: () => Promise<void>,
): Promise<void> {
  if (first) {
    await openView(page, 'Data');
    const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
    await set.getByRole('button', { name: /^Load/ }).click();
    await set.getByRole('button', { name: 'Use for training' }).click();
  } else {
    await openView(page, 'Train');
  }
  // warmup over the first steps makes the learning rate change: the lr chart gets a range of ticks
  for (const [k, v] of Object.entries({ steps, batchSize: 1, maxSeqLen: 32, warmupSteps: 2, checkpointEvery: 1 })) {
    await page.getByTestId(`field-${k}`).fill(String(v));
  }
  await page.getByLabel('Run name').fill(name);
  await page.getByTestId('start').click();
  await whileRunning?.();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 180_000 });
}

/** Series labels and legend values of a uPlot chart (the x series "step" first). */
async function legend(chart: Locator): Promise<{ label: string; value: string }[]> {
  return chart.locator('.u-legend .u-series').evaluateAll((rows) =>
    rows.map((r) => ({
      label: r.querySelector('.u-label')?.textContent?.trim() ?? '',
      value: r.querySelector('.u-value')?.textContent?.trim() ?? '',
    })),
  );
}

test('wasm: accuracy with Wilson interval and chance; lr axis and legends readable; Compare overlays two runs', async ({
  page,
}, testInfo) => {
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');

  // ── evaluation: interval and chance next to the accuracy
  await openView(page, 'Evaluate');
  for (const t of ['kobest_boolq', 'kobest_hellaswag', 'kobest_wic', 'kobest_sentineg'])
    await page.getByTestId(`task-${t}`).uncheck();
  await page.getByTestId('eval-limit').fill('6');
  await page.getByTestId('eval-start').click();
  const latest = page.getByTestId('eval-latest');
  await expect(latest).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('eval-latest-backend')).toHaveText('wasm');
  const row = latest.locator('[data-testid="eval-latest-row"][data-task="kobest_copa"]');
  await expect(row.getByTestId('ci-acc')).toHaveText(INTERVAL);
  await expect(row.getByTestId('ci-f1')).toHaveText(INTERVAL);
  // COPA has two choices and (with both classes among the gold answers) a chance macro-F1 below 50
  await expect(row.getByTestId('chance')).toContainText(/^50\.0 \/ \d/);
  await expect(latest.getByTestId('intervals-note')).toContainText('Wilson');
  await expect(latest.getByTestId('intervals-note')).toContainText('bootstrap');
  // the accuracy lies inside its interval
  const cells = await row.getByRole('cell').allTextContents();
  const acc = Number(cells[1]);
  const [lo, hi] = cells[2].slice(1, -1).split(', ').map(Number);
  expect(acc).toBeGreaterThanOrEqual(lo);
  expect(acc).toBeLessThanOrEqual(hi);
  await shot(page, 'eval-intervals');

  // ── retention & fidelity: each answer beside its prompt; shares with their interval
  const panel = page.getByTestId('retention');
  await panel.getByTestId('retention-fidelity').check();
  await panel.getByTestId('retention-limit').fill('1');
  await panel.getByTestId('retention-tokens').fill('4');
  await panel.getByTestId('retention-start').click();
  await expect(panel.getByTestId('retention-table')).toBeVisible({ timeout: 180_000 });
  // the base model answers its one English prompt in English: 1 of 1, Wilson low = 1 − z²/(1 + z²) = 0.207
  await expect(panel.getByTestId('retention-table')).toContainText(/100\.0%\s\[20\.7, 100\.0\] of 1/);
  await panel.getByText('Answers of the latest fidelity measurement').click();
  const prompts = panel.getByTestId('fidelity-prompt');
  await expect(prompts).toHaveCount(2);
  for (const p of await prompts.allTextContents()) {
    expect(p).toMatch(/^Prompt\S/);
    expect(p).not.toContain('not in the bundled file');
    expect(p).not.toContain('### Instruction');
  }
  await expect(prompts.first()).toContainText(/[\uac00-\ud7a3]/);

  // ── two short runs; the lr chart's tick labels differ from each other and from "0"
  await train(page, 'curve-a', true);
  const lrChart = page.locator('[data-testid="chart"][data-title="lr"]');
  await expect(lrChart).toHaveAttribute('data-points', '4');
  const ticks = ((await lrChart.locator('[data-yticks]').getAttribute('data-yticks')) ?? '').split('|');
  const nonZero = ticks.filter((t) => t !== '' && t !== '0');
  expect(nonZero.length, `lr ticks ${ticks.join(' ')}`).toBeGreaterThanOrEqual(2);
  expect(new Set(nonZero).size).toBe(nonZero.length);
  const lossLegend = await legend(page.locator('[data-testid="chart"][data-title="loss"]'));
  expect(lossLegend.map((s) => s.label)).toEqual(['step', 'loss']);
  for (const s of lossLegend) expect(s.value, `legend ${s.label}`).not.toBe('--');
  expect(Number(lossLegend[1].value)).toBeGreaterThan(0);
  await shot(page, 'train-lr-axis');
  // the second run is longer: its loss chart is built once and then only gets new data (a mark on
  // uPlot's root element survives the later steps; a rebuilt chart would be a new element)
  const B_STEPS = 20;
  let markedAt = 0;
  await train(page, 'curve-b', false, B_STEPS, async () => {
    const loss = page.locator('[data-testid="chart"][data-title="loss"]');
    await expect(loss.locator('.uplot')).toHaveCount(1, { timeout: 60_000 });
    markedAt = Number(await loss.getAttribute('data-points'));
    await loss.locator('.uplot').evaluate((el) => el.setAttribute('data-mark', 'kept'));
  });
  expect(markedAt, 'marked before the last step').toBeLessThan(B_STEPS);
  const lossB = page.locator('[data-testid="chart"][data-title="loss"]');
  await expect(lossB).toHaveAttribute('data-points', String(B_STEPS));
  await expect(lossB.locator('.uplot[data-mark="kept"]')).toHaveCount(1);

  // ── Compare: intervals and chance row in the table, the drill-down summary, overlaid curves
  await openView(page, 'Compare');
  const table = page.getByTestId('comparison-table');
  await page.getByTestId('compare-metric').selectOption('acc');
  await expect(table.getByTestId('cell-ci').first()).toHaveText(INTERVAL);
  await expect(table.getByTestId('chance-row')).toContainText('50.0');
  await page.getByTestId('drill-record').selectOption({ index: 1 });
  await expect(page.getByTestId('drill-summary')).toContainText(/acc \d+\.\d \[\d+\.\d, \d+\.\d\]/);
  await expect(page.getByTestId('drill-summary')).toContainText('chance: acc 50.0');

  const retention = page.getByTestId('compare-retention');
  await expect(retention.getByRole('row', { name: /stories260K \(base\)/ })).toContainText(/\d+\.\d{3}/);

  const curves = page.getByTestId('compare-curves');
  const boxes = curves.getByTestId('curve-run');
  await expect(boxes).toHaveCount(2);
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  const chart = curves.getByTestId('chart');
  await expect(chart).toHaveAttribute('data-points', String(B_STEPS));
  const series = await legend(chart);
  expect(series.map((s) => s.label).sort()).toEqual(['curve-a', 'curve-b', 'step']);
  for (const s of series) expect(s.value, `legend ${s.label}`).not.toBe('--');
  await shot(page, 'compare-overlay');

  // the filled tables read at a phone's and a laptop's width: no word or number broken across lines
  await expectReadable(page, testInfo, 'Compare');
  for (const view of ['Evaluate', 'Train', 'Data']) {
    await openView(page, view);
    await expectReadable(page, testInfo, view);
  }
});
