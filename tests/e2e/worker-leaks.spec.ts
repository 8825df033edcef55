/**
 * Leak check in the workers: tf.memory().numTensors (and bytes) reported by the training worker's
 * progress events stays flat over 200 CLO steps (LEAK_STEPS=N to change), and the evaluation
 * worker's count after each job stays flat over 20 evaluations. Both counts come from the workers'
 * own events (see workers/host/debug.ts: globalThis.__cloLabTensors on the page).
 *
 * Kept short: the smallest CLO step that still runs the whole worker path (batch 1, sequence 16 on
 * wasm, checkpoints to IndexedDB every 25 steps), and one COPA item per evaluation. Measured on the
 * shared 2-vCPU machine (load 7–9): 1.5 min for the 200 steps, 39 s for the 20 evaluations.
 * Tolerance: none. After step 10 (AdamW state created) every sample must hold the same count and
 * bytes, so a leak of one tensor per step (or per evaluation) fails.
 */
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';

const STEPS = Number(process.env.LEAK_STEPS ?? 200);
type Samples = { train: { numTensors: number; numBytes: number }[]; eval: { numTensors: number; numBytes: number }[] };
const samples = (page: import('@playwright/test').Page) =>
  page.evaluate(
    () => (globalThis as unknown as { __cloLabTensors?: Samples }).__cloLabTensors ?? { train: [], eval: [] },
  );

test(`training worker: live tensors flat over ${STEPS} CLO steps`, async ({ page }) => {
  test.setTimeout(480_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await openView(page, 'Data');
  const set = page.locator('[data-testid="bundled-dataset"][data-id="paired-alpaca-koalpaca-en-ko"]');
  await set.getByRole('button', { name: /^Load/ }).click();
  await set.getByRole('button', { name: 'Use for training' }).click();
  for (const [k, v] of Object.entries({
    steps: STEPS,
    batchSize: 1,
    maxSeqLen: 16,
    warmupSteps: 0,
    checkpointEvery: 25,
  })) {
    await page.getByTestId(`field-${k}`).fill(String(v));
  }
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'completed', { timeout: 420_000 });
  const { train } = await samples(page);
  expect(train.length).toBeGreaterThan(STEPS);
  // after a few steps (optimizer state created), the count must not move
  const settled = train.slice(10);
  const counts = new Set(settled.map((s) => s.numTensors));
  expect([...counts], `tensor counts after step 10: ${[...counts].join(', ')}`).toHaveLength(1);
  expect(Math.max(...settled.map((s) => s.numBytes))).toBe(Math.min(...settled.map((s) => s.numBytes)));
});

test('evaluation worker: live tensors flat over 20 evaluations', async ({ page }) => {
  test.setTimeout(480_000);
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await openView(page, 'Evaluate');
  for (const t of ['kobest_boolq', 'kobest_hellaswag', 'kobest_wic', 'kobest_sentineg'])
    await page.getByTestId(`task-${t}`).uncheck();
  await page.getByTestId('eval-limit').fill('1');
  for (let i = 0; i < 20; i++) {
    await page.getByTestId('eval-start').click();
    await expect.poll(async () => (await samples(page)).eval.length, { timeout: 120_000 }).toBe(i + 1);
    await expect(page.getByTestId('eval-start')).toBeEnabled();
  }
  const { eval: ev } = await samples(page);
  expect(new Set(ev.map((s) => s.numTensors)).size, `counts: ${ev.map((s) => s.numTensors).join(', ')}`).toBe(1);
  expect(new Set(ev.map((s) => s.numBytes)).size).toBe(1);
});
