/**
 * Evaluation end to end: the base model on two KoBEST tasks in the evaluation worker, the comparison
 * table with the best cells marked and a drill-down; a 5-prompt blind win-rate session judged with
 * the keyboard (a / b / t), whose percentages are checked against the recorded per-prompt choices.
 */
import type { Page } from '@playwright/test';
import { test, expect, shot, openView, waitForEngine } from './fixtures';

const CLO_SET = 'paired-alpaca-koalpaca-en-ko';

async function trainTinyRun(page: Page): Promise<void> {
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  await expect(page.getByRole('tab', { name: 'Train' })).toHaveAttribute('aria-selected', 'true');
  for (const [k, v] of Object.entries({ steps: 2, batchSize: 1, maxSeqLen: 32, warmupSteps: 0, checkpointEvery: 1 })) {
    await page.getByTestId(`field-${k}`).fill(String(v));
  }
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 180_000 });
}

test('evaluate the base model on two KoBEST tasks and see the comparison table', async ({ page }) => {
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Evaluate');
  for (const t of ['kobest_boolq', 'kobest_hellaswag', 'kobest_wic']) await page.getByTestId(`task-${t}`).uncheck();
  await expect(page.getByTestId('task-kobest_copa')).toBeChecked();
  await expect(page.getByTestId('task-kobest_sentineg')).toBeChecked();
  await page.getByTestId('eval-limit').fill('3');
  await page.getByTestId('eval-start').click();
  await expect(page.getByRole('progressbar', { name: 'Evaluation progress' })).toBeVisible();
  const latest = page.getByTestId('eval-latest');
  await expect(latest).toBeVisible({ timeout: 240_000 });
  await expect(latest).toContainText('kobest_copa');
  await expect(latest).toContainText('kobest_sentineg');
  await shot(page, 'eval-latest');

  await openView(page, 'Compare');
  const table = page.getByTestId('comparison-table');
  await expect(table).toBeVisible();
  const row = table.getByRole('row', { name: /stories260K \(base\)/ });
  await expect(row).toBeVisible();
  // 5 KoBEST columns; the two evaluated ones have numbers, and with one row they are the best
  await expect(table.getByRole('columnheader')).toHaveText([
    'Model / run',
    'k',
    'BoolQ',
    'COPA',
    'HellaSwag',
    'SentiNeg',
    'WiC',
  ]);
  await expect(row.getByTestId('best-cell')).toHaveCount(2);
  const cells = await row.getByRole('cell').allTextContents();
  expect(cells[0]).toBe('0');
  // each score is followed by its 95% interval in brackets
  for (const i of [2, 4]) {
    expect(parseFloat(cells[i])).toBeGreaterThanOrEqual(0);
    expect(cells[i]).toMatch(/\[\d+\.\d, \d+\.\d\]$/);
  }
  expect(cells[1]).toBe('–');

  await page.getByTestId('drill-record').selectOption({ index: 1 });
  await page.getByTestId('drill-task').selectOption('kobest_copa');
  const drill = page.getByTestId('eval-drilldown');
  await expect(drill.getByRole('article')).toHaveCount(3);
  await expect(drill.getByRole('article').first()).toContainText(/그래서|왜냐하면/);
  await shot(page, 'compare-table');
});

test('a 5-prompt win-rate session judged with the keyboard reports wins / ties / losses', async ({ page }) => {
  await page.goto('/');
  await waitForEngine(page);
  await trainTinyRun(page);

  await openView(page, 'Win rate');
  await expect(page.getByTestId('wr-x')).not.toHaveValue('base');
  await expect(page.getByTestId('wr-y')).toHaveValue('base');
  await page.getByTestId('wr-max-tokens').fill('6');
  await page.getByTestId('wr-generate').click();
  const judging = page.getByTestId('wr-judging');
  await expect(judging).toBeVisible({ timeout: 180_000 });
  await shot(page, 'winrate-judging');

  await page.getByTestId('wr-answer-a').click(); // focus out of any form field
  const keys = ['a', 'b', 't', 'a', 'a'];
  for (const [i, key] of keys.entries()) {
    await page.keyboard.press(key);
    if (i < keys.length - 1) await expect(judging).toContainText(`judged ${i + 1}`);
  }
  const result = page.getByTestId('wr-result');
  await expect(result).toBeVisible();
  await expect(result).toContainText('of 5 prompts');

  // recompute the summary from the recorded per-prompt choices (A was X or Y)
  await result.getByText('Per-prompt choices').click();
  const rows = await result
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  expect(rows.map((r) => r[3])).toEqual(['a', 'b', 'tie', 'a', 'a']);
  let wins = 0;
  let ties = 0;
  let losses = 0;
  for (const [, , aWas, choice] of rows) {
    if (choice === 'tie') ties++;
    else if ((choice === 'a') === (aWas === 'X')) wins++;
    else losses++;
  }
  const fmt = (n: number) => ((100 * n) / 5).toFixed(1);
  await expect(page.getByTestId('wr-summary')).toHaveText(`${fmt(wins)} / ${fmt(ties)} / ${fmt(losses)}`);
  await shot(page, 'winrate-result');
});

test('retention & fidelity: held-out perplexity and language fidelity of the base model', async ({ page }) => {
  await page.goto('/');
  await waitForEngine(page);
  await openView(page, 'Evaluate');
  const panel = page.getByTestId('retention');
  await expect(panel.getByTestId('retention-ppl')).toBeChecked();
  await panel.getByTestId('retention-fidelity').check();
  await panel.getByTestId('retention-limit').fill('2');
  await panel.getByTestId('retention-tokens').fill('8');
  await panel.getByTestId('retention-start').click();
  const table = panel.getByTestId('retention-table');
  await expect(table).toBeVisible({ timeout: 240_000 });
  const row = table.getByRole('row', { name: /stories260K \(base\)/ });
  const cells = await row.getByRole('cell').allTextContents();
  // perplexity of a pretrained TinyStories model on TinyStories paragraphs: finite and above 1
  const ppl = parseFloat(cells[0]);
  expect(ppl).toBeGreaterThan(1);
  expect(ppl).toBeLessThan(100);
  expect(cells[0]).toContain('(2 par.)');
  // 2 prompts per language; the English-only base model answers English prompts in English
  expect(cells[1]).toContain('of 2');
  expect(cells[2]).toMatch(/100(\.0)?\s*%.*of 2/);
  await shot(page, 'retention');
});
