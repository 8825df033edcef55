/**
 * The header's backend line under "auto" on a machine whose only WebGPU adapter is SwiftShader:
 * auto starts on wasm, the header says why (the software adapter) and that a run's first steps measure
 * both (the measured pick itself: tests/e2e/auto-pick.spec.ts), and the thread count it shows is the
 * one the training worker's wasm module actually runs with, read straight from that worker (tfjs's
 * engine global, `_tfengine`, in the worker's own scope), and the default: half the logical cores, at
 * least 1 and at most 8 (workers/host/boot.ts defaultThreads(), kept from the 1 vs 2 threads bench).
 * Forcing WebGPU still gives WebGPU, without a thread count.
 */
import type { Page, Worker } from '@playwright/test';
import { test, expect, waitForEngine, forceBackend } from './fixtures';

/** The training worker (workers/train/train.worker.ts) among the page's dedicated workers. */
async function trainWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().some((w) => /train\.worker/.test(w.url()))).toBe(true);
  return page.workers().find((w) => /train\.worker/.test(w.url()))!;
}

/** Backend and wasm pool size as the worker's tfjs engine sees them (the C++ side's own count). */
function engineThreads(w: Worker): Promise<{ backend: string; threads: number | null }> {
  return w.evaluate(() => {
    const engine = (
      globalThis as unknown as {
        _tfengine: {
          backendName: string;
          registry: Record<string, { wasm?: { tfjs?: { getThreadsCount?: () => number } } }>;
        };
      }
    )._tfengine;
    const count = engine.registry.wasm?.wasm?.tfjs?.getThreadsCount?.();
    return { backend: engine.backendName, threads: count ?? null };
  });
}

test('auto starts on wasm over the SwiftShader adapter and says why; the header shows the threads the worker runs', async ({
  page,
}) => {
  await page.goto('/');
  expect(await waitForEngine(page)).toBe('wasm');
  await expect(page.getByTestId('fallback')).toHaveText(
    /auto passed over webgpu \(software adapter \(.*swiftshader.*\): likely slower than wasm on a CPU\)/i,
  );
  await expect(page.getByTestId('auto-pending')).toHaveText(/a run's first steps measure webgpu and wasm/);

  const shown = page.getByTestId('wasm-threads');
  await expect(shown).toBeVisible();
  await expect(shown).not.toContainText('single-threaded build');
  const text = (await shown.textContent()) ?? '';
  const headerThreads = Number(/(\d+) threads?/.exec(text)?.[1]);

  const worker = await engineThreads(await trainWorker(page));
  expect(worker.backend).toBe('wasm');
  expect(headerThreads, `header "${text.trim()}" vs the worker's wasm pool`).toBe(worker.threads);
  // the default, workers/host/boot.ts defaultThreads(): half the page's logical cores, 1 to 8
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  expect(headerThreads).toBe(Math.max(1, Math.min(8, Math.floor(cores / 2))));

  // a person can still force WebGPU (on that same software adapter): no wasm threads then
  await forceBackend(page, 'webgpu');
  await expect(page.getByTestId('adapter-name')).toContainText(/swiftshader/i);
  await expect(page.getByTestId('software-adapter')).toBeVisible();
  await expect(page.getByTestId('wasm-threads')).toHaveCount(0);
});
