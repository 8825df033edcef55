/**
 * The vocabulary recipes in the page equal the CLI: salt-init (three initialisations of 1,024 new
 * tokens, pt on the new rows) and korean-journey (extend + pt, then CLO and SFT from there) run in
 * the Experiments view on wasm with a tiny budget, and every report row (English perplexity, Korean
 * bits/char, final loss) equals `lab experiment` with the same recipe and overrides; the report
 * states each check with a verdict. The journey starts from the Vocabulary view's button.
 *
 * FULL_REPORTS=<dir> runs both recipes at their own budgets instead (about half an hour on two
 * cores; not part of npm test) and keeps the CLI's report folders and the page's screenshots in <dir>.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';

const FULL = process.env.FULL_REPORTS;
/** the tiny budget of the equality check; the recipe's own when FULL_REPORTS is set */
const STEPS = FULL ? null : 2;
const LIMIT = FULL ? null : 2;
const budgetFlags = (): string[] =>
  (STEPS === null ? [] : ['--steps', String(STEPS)]).concat(LIMIT === null ? [] : ['--eval-limit', String(LIMIT)]);

/* eslint-disable @typescript-eslint/no-explicit-any -- report.json is untyped JSON */
function cliReport(recipe: string): any {
  const out = FULL ? join(FULL, `cli-${recipe}`) : join(mkdtempSync(join(tmpdir(), `clo-e2e-${recipe}-`)), 'exp');
  const p = spawnSync(
    process.execPath,
    ['cli/launch.mjs', 'cli/lab.ts', 'experiment', '--recipe', recipe]
      .concat(budgetFlags())
      .concat(['--backend', 'wasm', '--out', out]),
    { encoding: 'utf8', timeout: FULL ? 3_600_000 : 600_000 },
  );
  if (p.status !== 0) throw new Error(`lab experiment ${recipe} exited ${p.status}: ${p.stderr.slice(-1500)}`);
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
}

/** Every arm's row of the page's report equals the CLI's numbers at the precision shown. */
async function expectRowsEqual(page: Page, cli: any): Promise<void> {
  const row = (id: string) => page.getByTestId(`row-${id}`);
  await expect(row('base')).toContainText(cli.base.perplexity.ppl.toFixed(2));
  await expect(row('base')).toContainText(cli.base.bitsPerChar.bits_per_char.toFixed(3));
  for (const a of cli.arms) {
    await expect(row(a.id)).toContainText(a.eval.perplexity.ppl.toFixed(2));
    await expect(row(a.id)).toContainText(a.eval.bitsPerChar.bits_per_char.toFixed(3));
  }
}

async function runInPage(page: Page, start: () => Promise<void>): Promise<void> {
  await start();
  const report = page.getByTestId('experiment-report');
  await expect(report).toContainText('done', { timeout: FULL ? 3_600_000 : 600_000 });
}

async function fill(page: Page, testId: string, v: number | null): Promise<void> {
  await page.getByTestId(testId).fill(v === null ? '' : String(v));
}

async function keepPage(page: Page, name: string): Promise<void> {
  if (!FULL) return;
  mkdirSync(FULL, { recursive: true });
  await page.getByTestId('experiment-report').screenshot({ path: join(FULL, `page-${name}.png`) });
  const t0 = Number(process.env.FULL_T0 ?? 0);
  console.log(`[full] page ${name} done at ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

test('salt-init and the Korean journey in the page equal lab experiment', async ({ page }) => {
  test.setTimeout(FULL ? 7_200_000 : 1_200_000);
  const cliSalt = cliReport('salt-init');
  const cliJourney = cliReport('korean-journey');
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');

  await openView(page, 'Experiments');
  await page.getByTestId('recipe-select').selectOption('salt-init');
  await fill(page, 'steps-input', STEPS);
  await fill(page, 'eval-limit-input', LIMIT);
  process.env.FULL_T0 = String(Date.now());
  await runInPage(page, () => page.getByTestId('experiment-start').click());
  await keepPage(page, 'salt-init');
  await expectRowsEqual(page, cliSalt);
  await expect(page.getByTestId('row-salt')).toContainText('salt init, 1024 new rows');
  await expect(page.getByTestId('claim-check')).toHaveCount(4);

  // the journey from its button in the Vocabulary view; the step and limit fields stay as set
  await openView(page, 'Vocabulary');
  await page.getByTestId('journey-start').click();
  await expect(page.getByRole('tab', { name: 'Experiments' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('recipe-select')).toHaveValue('korean-journey');
  process.env.FULL_T0 = String(Date.now());
  await runInPage(page, async () => {});
  await keepPage(page, 'korean-journey');
  await expectRowsEqual(page, cliJourney);
  await expect(page.getByTestId('claim-check')).toHaveCount(4);
});
