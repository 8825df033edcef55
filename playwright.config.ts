import { chromium, defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

// E2E_PORT lets several checkouts run their browser tests side by side without sharing a server.
/**
 * The preview server's port: E2E_PORT, else 4173 plus a number drawn from this checkout's path, so two
 * checkouts testing at once on one machine never share (and reuse) each other's server.
 */
const port = Number(
  process.env.E2E_PORT ?? 4173 + ([...process.cwd()].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100_003, 7) % 800),
);

/** Debian's Chromium (what .ci/run installs). */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * The browser for the tests: CHROMIUM_PATH when set, else Debian's Chromium where it is installed, else
 * the Chromium Playwright manages (undefined: Playwright's own), installed first when it is missing
 * (`playwright install chromium`). One line on stderr and exit 1 when none can be had.
 */
function chromiumExecutable(): string | undefined {
  const none = (why: string) => {
    process.stderr.write(
      `error: no Chromium for the browser tests: ${why}; set CHROMIUM_PATH to a Chromium or Chrome binary, or install one (apt-get install chromium, or npx playwright install chromium)\n`,
    );
    process.exit(1);
  };
  const given = process.env.CHROMIUM_PATH;
  if (given) return existsSync(given) ? given : none(`CHROMIUM_PATH=${given} does not exist`);
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  if (existsSync(chromium.executablePath())) return undefined;
  process.stderr.write(
    `${DEBIAN_CHROMIUM} is not installed: installing Playwright's Chromium (playwright install chromium)\n`,
  );
  try {
    const cli = createRequire(import.meta.url).resolve('playwright/cli');
    execFileSync(process.execPath, [cli, 'install', 'chromium'], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    /* said below */
  }
  return existsSync(chromium.executablePath())
    ? undefined
    : none(`${DEBIAN_CHROMIUM} is missing and \`playwright install chromium\` did not install one`);
}
const executablePath = chromiumExecutable();

/**
 * E2E: the production build (`vite build` runs first in `npm test`) served by `vite preview`,
 * driven in Chromium (chromiumExecutable: CHROMIUM_PATH, Debian's, or Playwright's own) with WebGPU on
 * SwiftShader (no GPU needed).
 */
export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results/artifacts',
  workers: 1,
  fullyParallel: false,
  // one retry on CI: a test that passes only on its retry is reported as flaky, one that fails twice fails the run
  retries: process.env.CI ? 1 : 0,
  timeout: 240_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'only-on-failure',
    // recording a trace costs about a fifth of the suite's time: E2E_TRACE=1 keeps one for each failed test
    trace: process.env.E2E_TRACE ? 'retain-on-failure' : 'off',
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: [
        '--enable-unsafe-webgpu',
        '--use-webgpu-adapter=swiftshader',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
