/**
 * The WGSL kernels in Chromium (WebGPU on SwiftShader, playwright.config.ts), beside their Node tests (Dawn):
 *  - every kernel against its reference path, the cases of the Node tests (tests/model/kernels/webgpu-cases.ts:
 *    values and gradients, tails, attention with padding, masked rows and kv-groups, packed f16 and int8, the fused
 *    LoRA linear, the gradient statistics with non-finite values, the lab's SplitV and its dispatches), each row
 *    {op, case, maxAbsDiff, tol, ok} ok, on a real WebGPU adapter;
 *  - the device destroyed in the middle of a run (tests/backend/webgpu-fault-run.ts, as the Node test does): the
 *    step ends with the DeviceLostError message, and the run resumed from its checkpoint on a re-created backend
 *    gives the uninterrupted run's losses.
 * The page (kernel-check/page.ts) is test-only: bundled here with esbuild and served by page.route at the
 * preview server's origin (a secure context, so navigator.gpu exists), so the app's build never carries it.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { test, expect } from './fixtures';
import type { DeviceLostResult, KernelCheckResult } from './kernel-check/page';
import type { Page } from '@playwright/test';

const HTML = `<!doctype html><html lang="en"><head><meta charset="UTF-8" /><link rel="icon" href="data:," />
<title>CLO Lab kernel check</title></head><body><p id="status">loading</p>
<script type="module" src="./check.js"></script></body></html>`;

let bundle = '';

test.beforeAll(async () => {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./kernel-check/page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
  });
  bundle = out.outputFiles[0].text;
});

/** Opens the check page (served from memory) and waits for its module. */
async function openCheck(page: Page): Promise<void> {
  await page.route('**/__kernel-check/**', (route) => {
    const js = route.request().url().endsWith('/check.js');
    return route.fulfill({
      status: 200,
      contentType: js ? 'text/javascript' : 'text/html',
      body: js ? bundle : HTML,
    });
  });
  await page.goto('/__kernel-check/index.html');
  await expect(page.locator('#status')).toHaveText('ready');
}

test('every WGSL kernel = its reference path in Chromium (values, gradients, tails, padding, kv-groups, packed)', async ({
  page,
}) => {
  await openCheck(page);
  const r = await page.evaluate(() =>
    (window as unknown as { kernelCheck: { kernels(): Promise<KernelCheckResult> } }).kernelCheck.kernels(),
  );
  test.info().annotations.push({ type: 'adapter', description: JSON.stringify(r.adapter) });
  expect(r.adapter, 'a WebGPU adapter').not.toBeNull();
  expect(r.backend).toBe('webgpu');
  expect(new Set(r.rows.map((x) => x.op))).toEqual(
    new Set([
      'swiglu',
      'rmsnorm',
      'add-rmsnorm',
      'rope',
      'adamw',
      'packed-matmul',
      'attention',
      'head-logprobs',
      'lora-linear',
      'grad-norm',
      'split',
    ]),
  );
  expect(r.rows.filter((x) => !x.ok)).toEqual([]);
  // the rows with a tolerance (those with tol 0 compare exactly: flags, split pieces)
  const worst = Math.max(...r.rows.filter((x) => x.tol > 0).map((x) => x.maxAbsDiff / x.tol));
  const exact = r.rows.filter((x) => x.tol === 0).length;
  test.info().annotations.push({
    type: 'rows',
    description: `${r.rows.length} rows (${exact} exact), worst diff/tol ${worst}`,
  });
});

test('the device destroyed mid-run: DeviceLostError, then resumed from the checkpoint on a new backend, the same losses', async ({
  page,
}) => {
  await openCheck(page);
  const r = await page.evaluate(() =>
    (window as unknown as { kernelCheck: { deviceLost(): Promise<DeviceLostResult> } }).kernelCheck.deviceLost(),
  );
  expect(r.error?.name).toBe('DeviceLostError');
  expect(r.error?.message).toMatch(
    /^the WebGPU device was lost during training step 2 \(destroyed.*re-create the backend and resume from the last checkpoint$/,
  );
  expect(r.error?.reason).toBe('destroyed');
  expect([r.stepsBefore, r.checkpointStep]).toEqual([1, 1]);
  expect(r.backend).toBe('webgpu');
  expect(r.outcome).toEqual({ status: 'done', steps: r.steps - 1 });
  expect(r.references).toBe(4 * r.steps);
  expect(r.lossGot).toHaveLength(r.steps);
  expect(r.metricsDiff, `losses ${r.lossGot} vs ${r.lossWant}`).toBeLessThan(1e-5);
  expect(r.loraDiff).toBeLessThan(1e-6);
});
