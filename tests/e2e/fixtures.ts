/**
 * Shared e2e helpers. `test` from here fails any test whose page throws an uncaught error or whose
 * training worker reports one (the app logs worker errors as console errors prefixed "[worker]").
 * `shot(page, name)` saves a full-page screenshot under test-results/screens/.
 *
 *   import { test, expect, shot, openView, waitForEngine, forceBackend } from './fixtures';
 */
import { test as base, expect, type Page } from '@playwright/test';

export interface ErrorLog {
  errors: string[];
  /** substrings of console errors a test expects (they are not failures) */
  allow: string[];
}

export const test = base.extend<{ errorLog: ErrorLog }>({
  errorLog: [
    async ({ page }, use) => {
      const log: ErrorLog = { errors: [], allow: [] };
      page.on('pageerror', (err) => log.errors.push(`page: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const text = msg.text();
        if (log.allow.some((a) => text.includes(a))) return;
        if (text.startsWith('[worker]') || /uncaught|unhandled/i.test(text)) log.errors.push(`console: ${text}`);
      });
      page.on('worker', (w) => {
        w.on('console', (msg) => {
          if (msg.type() === 'error' && /uncaught|unhandled/i.test(msg.text()))
            log.errors.push(`worker console: ${msg.text()}`);
        });
      });
      await use(log);
      expect(log.errors, 'uncaught page or worker errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

/** Clicks the tab with this label and waits for its panel. */
export async function openView(page: Page, label: string): Promise<void> {
  await page.getByRole('tab', { name: label, exact: false }).click();
  await expect(page.getByRole('tab', { name: label, exact: false })).toHaveAttribute('aria-selected', 'true');
}

/** Waits until the worker reports its backend (model loaded). Returns the backend name. */
export async function waitForEngine(page: Page, timeout = 120_000): Promise<string> {
  const name = page.getByTestId('backend-name');
  await expect(name).toBeVisible({ timeout });
  return (await name.textContent()) ?? '';
}

/** Picks a backend with the header's "Force backend" control and waits for the worker to report it. */
export async function forceBackend(page: Page, backend: 'webgpu' | 'webgl' | 'wasm' | 'cpu' | 'auto'): Promise<void> {
  await page.getByLabel('Force backend').selectOption(backend);
  if (backend !== 'auto') await expect(page.getByTestId('backend-name')).toHaveText(backend, { timeout: 120_000 });
}
