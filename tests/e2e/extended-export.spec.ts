/**
 * A merged export of an extended model loads in a fresh page and through the CLI
 * with the same scores. The CLI extends stories260K (64 Korean tokens, mean init), trains the new rows and
 * a LoRA adapter with continued pretraining for 3 steps, exports the merged model, and scores it (KoBEST
 * COPA on 8 items with per-item log-likelihoods, English perplexity on 8 paragraphs, one greedy
 * generation), all on wasm. A fresh browser context loads the export through the Model view's folder
 * picker on wasm, shows the grown vocabulary, and must give the same numbers: the displayed ones to their
 * precision, and the raw ones from the saved records in IndexedDB within 1e-4 (relative for the sums of
 * log-probabilities, whose magnitudes are in the hundreds).
 * Through the CLI the export scores as the trained model it came from (extended model with trained rows
 * plus the adapter), and differently from the extended model before training, so the comparison can tell
 * the models apart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
import {
  buildExtendedExport,
  cliScores,
  EVAL_LIMIT,
  MAX_NEW_TOKENS,
  PROMPT,
  type CliScores,
  type ExtendedExport,
} from './extended-export-fixture';

const ADD = 64;
let dir = '';
let built: ExtendedExport;
let untrained: CliScores;
let trained: ReturnType<typeof cliScores>;

test.beforeAll(() => {
  test.setTimeout(180_000);
  dir = mkdtempSync(join(tmpdir(), 'clo-ext-export-e2e-'));
  built = buildExtendedExport(dir, ADD);
  untrained = cliScores(built.extended).scores;
  trained = cliScores(built.trained.model, built.trained.adapter);
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Records saved under a key prefix in the page's IndexedDB ('clo-lab', store 'kv'). */
async function savedRecords<T>(page: Page, prefix: string): Promise<T[]> {
  return page.evaluate(async (p) => {
    const req = indexedDB.open('clo-lab');
    const db: IDBDatabase = await new Promise(
      (r, j) => ((req.onsuccess = () => r(req.result)), (req.onerror = () => j(req.error))),
    );
    const store = db.transaction('kv').objectStore('kv');
    const keys = await new Promise<IDBValidKey[]>((r) => {
      const k = store.getAllKeys();
      k.onsuccess = () => r(k.result);
    });
    const mine = keys.filter((k) => typeof k === 'string' && k.startsWith(p));
    return Promise.all(
      mine.map(
        (k) =>
          new Promise((r) => {
            const g = store.get(k);
            g.onsuccess = () => r(g.result);
          }),
      ),
    );
  }, prefix) as Promise<T[]>;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

const ll = (s: CliScores) => s.kobest_copa.items.flatMap((i) => i.loglik);

test('through the CLI the merged export scores as the trained model with its adapter', () => {
  expect(ll(built.scores).length).toBe(2 * EVAL_LIMIT);
  const gaps = ll(built.scores).map((x, i) => Math.abs(x - ll(trained.scores)[i]));
  test
    .info()
    .annotations.push({ type: 'COPA max |merged − trained| log-likelihood', description: String(Math.max(...gaps)) });
  for (const [i, x] of ll(built.scores).entries())
    expect(close(x, ll(trained.scores)[i]), `log-likelihood ${i}: merged ${x}, trained ${ll(trained.scores)[i]}`).toBe(
      true,
    );
  expect(built.scores.perplexity.tokens).toBe(trained.scores.perplexity.tokens);
  expect(close(built.scores.perplexity.nll, trained.scores.perplexity.nll)).toBe(true);
  expect(built.generated.ids).toEqual(trained.generated.ids);
});

test('the CLI scores of the export differ from the untrained extended model (the comparison can fail)', () => {
  expect(built.vocabSize).toBe(512 + ADD);
  expect(ll(built.scores).some((x, i) => !close(x, ll(untrained)[i]))).toBe(true);
  expect(close(built.scores.perplexity.ppl, untrained.perplexity.ppl)).toBe(false);
});

// Playwright gives every test a new browser context: a fresh page with empty IndexedDB
test('a merged export of an extended model gives the CLI scores in a fresh page', async ({ page }) => {
  test.setTimeout(240_000);
  const name = basename(built.merged);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');

  await openView(page, 'Model');
  await page.getByTestId('hf-loader').locator('input[webkitdirectory]').setInputFiles(built.merged);
  await expect(page.getByRole('heading', { name: `Loaded: ${name}` })).toBeVisible();
  const facts = page.getByTestId('model-info');
  await expect(facts).toContainText(name, { timeout: 120_000 });
  await expect(facts.locator('dt:text-is("vocabulary") + dd')).toHaveText(String(512 + ADD));
  await expect(page.getByTestId('backend-name')).toHaveText('wasm');

  // KoBEST COPA, first 8 items, 0-shot, on the base model (= the loaded export)
  await openView(page, 'Evaluate');
  for (const t of ['kobest_boolq', 'kobest_hellaswag', 'kobest_wic', 'kobest_sentineg'])
    await page.getByTestId(`task-${t}`).uncheck();
  await page.getByTestId('eval-limit').fill(String(EVAL_LIMIT));
  await expect(page.getByTestId('eval-target').locator('option').first()).toHaveText(`${name} (base model)`);
  await page.getByTestId('eval-start').click();
  await expect(page.getByTestId('eval-latest-model')).toHaveText(name, { timeout: 120_000 });
  await expect(page.getByTestId('eval-latest-backend')).toHaveText('wasm');
  const cliCopa = built.scores.kobest_copa;
  const row = page.locator('[data-testid="eval-latest-row"][data-task="kobest_copa"]');
  await expect(row.locator('td').nth(0)).toHaveText(String(cliCopa.n));
  await expect(row.locator('td').nth(1)).toHaveText((100 * cliCopa.acc).toFixed(1));
  const [evalRec] = await savedRecords<{
    model: string;
    report: { results: { kobest_copa: CliScores['kobest_copa'] } };
  }>(page, 'eval:base:');
  expect(evalRec.model).toBe(name);
  const pageItems = evalRec.report.results.kobest_copa.items;
  expect(pageItems.map((i) => [i.gold, i.pred])).toEqual(cliCopa.items.map((i) => [i.gold, i.pred]));
  const gaps = pageItems.flatMap((it, k) => it.loglik.map((ll, c) => Math.abs(ll - cliCopa.items[k].loglik[c])));
  test
    .info()
    .annotations.push({ type: 'COPA max |page − CLI| log-likelihood', description: String(Math.max(...gaps)) });
  for (const [k, it] of pageItems.entries())
    for (const [c, ll] of it.loglik.entries())
      expect(
        close(ll, cliCopa.items[k].loglik[c]),
        `item ${k + 1} choice ${c}: page ${ll}, CLI ${cliCopa.items[k].loglik[c]}`,
      ).toBe(true);

  // held-out English perplexity, first 8 paragraphs
  const panel = page.getByTestId('retention');
  await panel.getByTestId('retention-fidelity').uncheck();
  await panel.getByTestId('retention-ppl').check();
  await panel.getByTestId('retention-limit').fill(String(EVAL_LIMIT));
  await panel.getByTestId('retention-start').click();
  await expect(panel.getByTestId('retention-latest-model')).toHaveText(name, { timeout: 120_000 });
  const cliPpl = built.scores.perplexity;
  const pplCell = panel.getByTestId('retention-table').locator('tbody tr').first().locator('td').first();
  await expect(pplCell).toContainText(cliPpl.ppl.toFixed(3));
  await expect(pplCell).toContainText(`(${cliPpl.n} par.)`);
  const [ret] = await savedRecords<{ perplexity: CliScores['perplexity'] }>(page, 'retention:base:');
  expect(ret.perplexity.tokens).toBe(cliPpl.tokens);
  test.info().annotations.push({
    type: 'perplexity |page − CLI| nll',
    description: String(Math.abs(ret.perplexity.nll - cliPpl.nll)),
  });
  expect(close(ret.perplexity.nll, cliPpl.nll), `nll: page ${ret.perplexity.nll}, CLI ${cliPpl.nll}`).toBe(true);
  await shot(page, 'extended-export-evaluate');

  // one greedy generation in the Playground: the same continuation as `lab generate`
  await openView(page, 'Playground');
  await expect(page.getByTestId('play-model')).toHaveText(name);
  await page.getByLabel('Prompt').fill(PROMPT);
  await page.getByTestId('field-maxNewTokens').fill(String(MAX_NEW_TOKENS));
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('generate')).toHaveText('Generate', { timeout: 120_000 });
  await expect(page.getByTestId('out-base').locator('strong')).toHaveText(built.generated.text);
});
