/**
 * Pause, then switch backend (as the header's hint says): the training worker is replaced, and the
 * paused run stays resumable. Resume rebuilds it on the new worker from the checkpoint written at the
 * pause (never from step 0), Stop on a paused run the new worker never opened stops it, and the
 * header's job line clears each time the run stops taking steps.
 */
import { test, expect, waitForEngine, forceBackend } from './fixtures';
import { currentStep, phase, prepareCloRun, recordSteps, recordedSteps, storedRun, waitStep } from './train-steps';

test('pause + backend switch keeps the run resumable: Resume continues from the checkpoint on the new backend, Stop works, the header clears', async ({
  page,
}) => {
  test.setTimeout(420_000);
  const steps = 40;
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await prepareCloRun(page, { steps, batchSize: 2, maxSeqLen: 64, checkpointEvery: 0 });
  await page.getByLabel('Run name').fill('switch-me');
  await page.getByTestId('start').click();
  const row = page.getByTestId('run-row');
  await expect(row).toHaveCount(1, { timeout: 60_000 });
  const runId = (await row.getAttribute('data-run-id')) ?? '';
  const job = page.getByTestId('running-job');
  await expect(job).toContainText('Training: switch-me');

  // pause on wasm: the checkpoint is written at the pause, the job slot is free
  await waitStep(page, 2);
  await page.getByTestId('pause').click();
  await expect(phase(page)).toHaveAttribute('data-phase', 'paused', { timeout: 60_000 });
  const pausedAt = await currentStep(page);
  await expect.poll(async () => (await storedRun(page, runId)).lastCheckpointStep).toBe(pausedAt);
  await expect(job).toHaveText(/No job running/);

  // switch to cpu: a new worker, the run still shown paused, still no job
  await forceBackend(page, 'cpu');
  await expect(phase(page)).toHaveAttribute('data-phase', 'paused');
  await expect(job).toHaveText(/No job running/);

  // Resume: the new worker rebuilds the run from its checkpoint and trains on
  await recordSteps(page);
  await page.getByTestId('resume').click();
  await expect(phase(page)).toHaveAttribute('data-phase', 'running', { timeout: 60_000 });
  await expect(job).toContainText('Training: switch-me');
  await waitStep(page, pausedAt + 2);
  expect(Math.min(...(await recordedSteps(page)))).toBeGreaterThanOrEqual(pausedAt);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);

  // pause again, switch back to wasm, and Stop the paused run the new worker never opened
  await page.getByTestId('pause').click();
  await expect(phase(page)).toHaveAttribute('data-phase', 'paused', { timeout: 60_000 });
  const pausedAgain = await currentStep(page);
  await forceBackend(page, 'wasm');
  await expect(page.getByTestId('stop')).toBeEnabled();
  await page.getByTestId('stop').click();
  await expect(phase(page)).toHaveAttribute('data-phase', 'stopped', { timeout: 60_000 });
  await expect(row).toHaveAttribute('data-status', 'stopped');
  await expect(job).toHaveText(/No job running/);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);

  // one trajectory: every step once, from 1 to where it stopped
  const stored = await storedRun(page, runId);
  expect(stored.status).toBe('stopped');
  expect(stored.lastCheckpointStep).toBe(pausedAgain);
  expect(stored.metrics.map((m) => m.step)).toEqual(Array.from({ length: pausedAgain }, (_, i) => i + 1));
});
