/**
 * Win rate on wasm (forced in the header): a tiny run against the base model, answers generated
 * in the evaluation worker (the job survives a view switch), five prompts judged, then the win
 * rate with its 95% Wilson interval beside the 50% chance level, the JSON and CSV exports, and the
 * JSON imported back.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';

const CLO_SET = 'paired-alpaca-koalpaca-en-ko';

async function trainTinyRun(page: Page): Promise<void> {
  await openView(page, 'Data');
  const set = page.locator(`[data-testid="bundled-dataset"][data-id="${CLO_SET}"]`);
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  for (const [k, v] of Object.entries({ steps: 2, batchSize: 1, maxSeqLen: 32, warmupSteps: 0, checkpointEvery: 1 }))
    await page.getByTestId(`field-${k}`).fill(String(v));
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 180_000 });
}

/** Wilson score interval written out again here (not imported from the app), z = 1.959964. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.959964;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

test('wasm: judge five prompts, see the CI and chance level, export JSON/CSV and import it back', async ({ page }) => {
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await trainTinyRun(page);

  await openView(page, 'Win rate');
  await expect(page.getByTestId('wr-x')).not.toHaveValue('base');
  await expect(page.getByTestId('wr-y')).toHaveValue('base');
  await page.getByTestId('wr-max-tokens').fill('4');
  await page.getByTestId('wr-generate').click();
  // the generation job lives in the store: leaving the view and coming back keeps it
  await openView(page, 'Model');
  await openView(page, 'Win rate');
  const judging = page.getByTestId('wr-judging');
  await expect(judging).toBeVisible({ timeout: 180_000 });

  const picks = ['a', 'b', 'tie', 'a', 'a'] as const;
  for (const [i, pick] of picks.entries()) {
    await page.getByTestId(`wr-pick-${pick}`).click();
    if (i < picks.length - 1) await expect(judging).toContainText(`judged ${i + 1}`);
  }
  const result = page.getByTestId('wr-result');
  await expect(result).toBeVisible();
  await expect(page.getByTestId('wr-error')).toHaveCount(0);
  // saved in IndexedDB after every judgement: listed under Saved sessions
  await expect(page.getByTestId('wr-saved-item')).toHaveCount(1);
  await expect(page.getByTestId('wr-saved-item')).toContainText('(5/5 judged)');

  // recompute wins / ties / losses from the per-prompt choices, then the interval by hand
  await result.getByText('Per-prompt choices').click();
  const rows = await result
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  let wins = 0;
  let ties = 0;
  for (const [, , aWas, choice] of rows) {
    if (choice === 'tie') ties++;
    else if ((choice === 'a') === (aWas === 'X')) wins++;
  }
  const losses = 5 - wins - ties;
  const [lo, hi] = wilson(wins + ties / 2, 5);
  const rate = page.getByTestId('wr-rate');
  expect(Number(await rate.getAttribute('data-rate'))).toBeCloseTo((wins + ties / 2) / 5, 9);
  expect(Number(await rate.getAttribute('data-low'))).toBeCloseTo(lo, 5);
  expect(Number(await rate.getAttribute('data-high'))).toBeCloseTo(hi, 5);
  await expect(page.getByTestId('wr-ci')).toHaveText(`${(100 * lo).toFixed(1)}% – ${(100 * hi).toFixed(1)}%`);
  await expect(rate).toContainText('Wilson score interval over 5 judged prompts; a tie counts as half a win');
  await expect(page.getByTestId('wr-chance')).toContainText('Chance level: 50.0%');
  // with 5 prompts the interval always contains 50% unless one side won all five
  if (wins < 5 && losses < 5)
    await expect(page.getByTestId('wr-chance')).toContainText('cannot tell the two models apart');
  await shot(page, 'winrate-ci');

  // JSON export: prompts, both answers, judgements, totals, interval
  const [jsonDl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('wr-export-json').click()]);
  expect(jsonDl.suggestedFilename()).toMatch(/^winrate-.*\.json$/);
  const jsonText = readFileSync((await jsonDl.path()) as string, 'utf8');
  const doc = JSON.parse(jsonText);
  expect(doc.format).toBe('clo-lab-winrate');
  expect(doc.items).toHaveLength(5);
  expect(doc.items[0].prompt).toBe('Once upon a time, there was a little dog');
  for (const it of doc.items) {
    expect(typeof it.answerX).toBe('string');
    expect(typeof it.answerY).toBe('string');
  }
  expect(doc.items.map((it: { judgement: string }) => it.judgement)).toEqual([...picks]);
  expect(doc.totals).toEqual({ total: 5, judged: 5, wins, ties, losses });
  expect(doc.winRate.ciLow).toBeCloseTo(lo, 5);
  expect(doc.winRate.ciHigh).toBeCloseTo(hi, 5);
  expect(doc.winRate).toMatchObject({ method: 'wilson', ties: 'half', chance: 0.5 });
  expect(doc.generation.maxNewTokens).toBe(4);

  // CSV export: a header, one row per prompt, then the totals
  const [csvDl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('wr-export-csv').click()]);
  const csv = readFileSync((await csvDl.path()) as string, 'utf8');
  expect(csv.split('\n')[0]).toBe('index,prompt,answer_x,answer_y,shown_as_a,judgement,outcome');
  expect(csv).toContain(`\nwins,${wins}\n`);
  expect(csv).toContain('\nchance,0.5\n');

  // import the JSON back after starting over: the same result is shown
  const summary = await page.getByTestId('wr-summary').textContent();
  await result.getByRole('button', { name: 'New session' }).click();
  await expect(result).toHaveCount(0);
  await page.getByLabel('Import a session (JSON export)').setInputFiles({
    name: 'session.json',
    mimeType: 'application/json',
    buffer: Buffer.from(jsonText),
  });
  await expect(page.getByTestId('wr-summary')).toHaveText(summary ?? '');
  await expect(page.getByTestId('wr-ci')).toHaveText(`${(100 * lo).toFixed(1)}% – ${(100 * hi).toFixed(1)}%`);
  await page.getByLabel('Import a session (JSON export)').setInputFiles({
    name: 'bad.json',
    mimeType: 'application/json',
    buffer: Buffer.from('{"format":"something else"}'),
  });
  await expect(page.getByTestId('wr-import-error')).toContainText('bad.json: not a win-rate export');
  // the import replaced the saved session with the same id rather than adding one
  await expect(page.getByTestId('wr-saved-item')).toHaveCount(1);
});
