/**
 * Two tabs of the lab in one browser profile (two pages of one context: same IndexedDB, same Web
 * Locks, same BroadcastChannel). Tab A trains; tab B lists A's run as running (not "interrupted", no
 * Resume), and B's Start is refused with a message naming A's run; when A pauses and then stops, B's
 * list follows, and the stopped run becomes resumable in B.
 */
import { test, expect, waitForEngine, forceBackend, openView } from './fixtures';
import { phase, prepareCloRun, waitStep } from './train-steps';

test("a second tab sees the first tab's live run as running and cannot start a second training on the same device", async ({
  page,
  errorLog,
}) => {
  test.setTimeout(420_000);
  const a = page;
  await a.goto('/');
  await waitForEngine(a);
  // remembered across the profile: tab B boots on wasm too
  await forceBackend(a, 'wasm');
  await prepareCloRun(a, { steps: 200, batchSize: 2, maxSeqLen: 64, checkpointEvery: 0 });
  await a.getByLabel('Run name').fill('tab-a-run');
  await a.getByTestId('start').click();
  await waitStep(a, 1);
  const runId = (await a.getByTestId('run-row').first().getAttribute('data-run-id')) ?? '';

  const b = await a.context().newPage();
  b.on('pageerror', (err) => errorLog.errors.push(`tab B page: ${err.message}`));
  await b.goto('/');
  expect(await waitForEngine(b)).toBe('wasm');
  await openView(b, 'Train');
  const rowInB = b.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
  await expect(rowInB).toHaveAttribute('data-status', 'running');
  await expect(rowInB).toContainText(/another tab/);
  await expect(rowInB.getByRole('button', { name: /^Resume/ })).toHaveCount(0);
  await expect(b.getByTestId('other-tab-training')).toHaveText(/another tab trains tab-a-run on wasm/);

  // B's own training on the same device (the processor: wasm) is refused, naming A's run
  await prepareCloRun(b, { steps: 5, batchSize: 1, maxSeqLen: 64, checkpointEvery: 0 });
  await b.getByLabel('Run name').fill('tab-b-run');
  await b.getByTestId('start').click();
  await expect(b.getByTestId('error-banner')).toContainText(/another tab of this lab is training run "tab-a-run"/);
  await expect(b.getByTestId('running-job')).toHaveText(/No job running/);
  await expect(b.getByTestId('run-row')).toHaveCount(1);
  await expect(phase(b)).toHaveCount(0);
  // A trains on
  const before = Number(await phase(a).getAttribute('data-step'));
  await waitStep(a, before + 1);

  // A pauses: B sees it paused (still open in A: no Resume in B)
  await a.getByTestId('pause').click();
  await expect(phase(a)).toHaveAttribute('data-phase', 'paused', { timeout: 60_000 });
  await expect(rowInB).toHaveAttribute('data-status', 'paused');
  await expect(b.getByTestId('other-tab-training')).toHaveCount(0);
  await expect(rowInB.getByRole('button', { name: /^Resume/ })).toHaveCount(0);

  // A stops: B sees it stopped, and may resume it now
  await a.getByTestId('stop').click();
  await expect(phase(a)).toHaveAttribute('data-phase', 'stopped', { timeout: 60_000 });
  await expect(rowInB).toHaveAttribute('data-status', 'stopped');
  await expect(rowInB.getByRole('button', { name: /^Resume/ })).toHaveCount(1);
  await b.close();
});
