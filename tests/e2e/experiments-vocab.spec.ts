/**
 * The vocabulary recipes in the page equal the CLI: salt-init (three initialisations of 1,024 new
 * tokens, pt on the new rows) and korean-journey (extend + pt, then CLO and SFT from there) run in
 * the Experiments view on wasm with a tiny budget, and every report row (English perplexity, Korean
 * bits/char, final loss) equals `lab experiment` with the same recipe and overrides; the report
 * states each check with a verdict. The journey starts from the Vocabulary view's button.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';

const STEPS = 2;
const LIMIT = 2;

/* eslint-disable @typescript-eslint/no-explicit-any -- report.json is untyped JSON */
function cliReport(recipe: string): any {
  const out = join(mkdtempSync(join(tmpdir(), `clo-e2e-${recipe}-`)), 'exp');
  const p = spawnSync(
    process.execPath,
    ['cli/launch.mjs', 'cli/lab.ts', 'experiment', '--recipe', recipe, '--steps', String(STEPS)].concat([
      '--eval-limit',
      String(LIMIT),
      '--backend',
      'wasm',
      '--out',
      out,
    ]),
    { encoding: 'utf8', timeout: 600_000 },
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
  await expect(report).toContainText('done', { timeout: 600_000 });
}

test('salt-init and the Korean journey in the page equal lab experiment', async ({ page }) => {
  test.setTimeout(1_200_000);
  const cliSalt = cliReport('salt-init');
  const cliJourney = cliReport('korean-journey');
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');

  await openView(page, 'Experiments');
  await page.getByTestId('recipe-select').selectOption('salt-init');
  await page.getByTestId('steps-input').fill(String(STEPS));
  await page.getByTestId('eval-limit-input').fill(String(LIMIT));
  await runInPage(page, () => page.getByTestId('experiment-start').click());
  await expectRowsEqual(page, cliSalt);
  await expect(page.getByTestId('row-salt')).toContainText('salt init, 1024 new rows');
  await expect(page.getByTestId('claim-check')).toHaveCount(4);

  // the journey from its button in the Vocabulary view; the step and limit fields stay as set
  await openView(page, 'Vocabulary');
  await page.getByTestId('journey-start').click();
  await expect(page.getByRole('tab', { name: 'Experiments' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('recipe-select')).toHaveValue('korean-journey');
  await runInPage(page, async () => {});
  await expectRowsEqual(page, cliJourney);
  await expect(page.getByTestId('claim-check')).toHaveCount(4);
});
