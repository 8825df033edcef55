/**
 * A model from a URL, downloaded into the Origin Private File System: a local server cuts the
 * connection half-way through the weights on the first request, so the load fails with a message
 * saying what was kept; the second Load asks for the rest with a Range request and the model loads,
 * with the stored weights byte-identical to the served file (sha256, also checked by the loader
 * against the server's ETag). The Model view lists the stored model with its size and deletes it.
 * A storage estimate too small for the model is refused before any weight is requested.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';
import { TINY, serveModelFolder, writeTinyHfLlama } from './hf-model-fixture';

const NAME = 'tiny-dl-llama';
let dir = '';

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clo-dl-e2e-'));
  writeTinyHfLlama(dir, NAME);
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** sha256 of every stored copy of model.safetensors in OPFS, read back in the page. */
async function storedWeightHashes(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const models = await root.getDirectoryHandle('clo-models', { create: true });
    const out: string[] = [];
    for await (const h of (models as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) {
      if (h.kind !== 'directory') continue;
      try {
        const f = await (await (h as FileSystemDirectoryHandle).getFileHandle('f-model.safetensors')).getFile();
        const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.arrayBuffer()));
        out.push([...d].map((b) => b.toString(16).padStart(2, '0')).join(''));
      } catch {
        /* a folder without weights */
      }
    }
    return out;
  });
}

test('an interrupted download resumes with a Range request, loads byte-identical, is listed and deleted', async ({
  page,
  errorLog,
}) => {
  test.setTimeout(240_000);
  errorLog.allow.push('cut off at');
  const server = await serveModelFolder(join(dir, NAME), { dropFirst: 'model.safetensors' });
  const weights = readFileSync(join(dir, NAME, 'model.safetensors'));
  const want = createHash('sha256').update(weights).digest('hex');
  try {
    await page.goto('/');
    await waitForEngine(page);
    await forceBackend(page, 'wasm');
    await openView(page, 'Model');
    const loader = page.getByTestId('hf-loader');
    await loader.getByLabel('URL or repo id').fill(server.url);

    // first try: the connection drops half-way through the weights
    await loader.getByRole('button', { name: 'Load' }).click();
    const error = loader.getByTestId('hf-error');
    await expect(error).toContainText(
      new RegExp(`model\\.safetensors: download cut off at \\d+ of ${weights.length} bytes.*load again to resume`),
      { timeout: 120_000 },
    );
    const kept = Number(/cut off at (\d+)/.exec((await error.textContent()) ?? '')![1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(weights.length);
    const stored = page.getByTestId('stored-download');
    await expect(stored).toHaveAttribute('data-complete', 'false');
    await expect(stored).toContainText('partial');

    // second try: only the rest is asked for, and the model loads
    await expect(loader.getByTestId('hf-plan')).toBeVisible();
    await loader.getByRole('button', { name: 'Load' }).click();
    await expect(page.getByTestId('model-info')).toContainText(String(TINY.vocabSize), { timeout: 120_000 });
    await expect(page.getByTestId('model-info')).toContainText(NAME);
    const weightGets = server.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/model.safetensors'));
    expect(weightGets.map((r) => r.range)).toEqual([null, `bytes=${kept}-`]);
    expect(await storedWeightHashes(page)).toEqual([want]);

    // listed as complete with its size; Delete removes the OPFS folder
    await expect(stored).toHaveAttribute('data-complete', 'true');
    await expect(stored).toContainText(server.url);
    await expect(page.getByTestId('stored-downloads-total')).toContainText('KiB');
    await stored.getByRole('button', { name: /^Delete/ }).click();
    await expect(stored).toHaveCount(0);
    expect(await storedWeightHashes(page)).toEqual([]);
  } finally {
    await server.close();
  }
});

test('a storage estimate too small for the model is refused before any weight is downloaded', async ({ page }) => {
  test.setTimeout(120_000);
  await page.addInitScript(() => {
    const sm = navigator.storage as StorageManager & { estimate: () => Promise<StorageEstimate> };
    sm.estimate = async () => ({ usage: 0, quota: 100_000 });
  });
  const server = await serveModelFolder(join(dir, NAME));
  try {
    await page.goto('/');
    await waitForEngine(page);
    await openView(page, 'Model');
    const loader = page.getByTestId('hf-loader');
    await loader.getByLabel('URL or repo id').fill(server.url);
    await loader.getByRole('button', { name: 'Load' }).click();
    await expect(loader.getByTestId('hf-error')).toContainText(
      /Not enough browser storage to download .*: needs 0\.\d MB, 0\.1 MB available/,
    );
    expect(server.requests.filter((r) => r.method === 'GET' && r.path.endsWith('.safetensors'))).toEqual([]);
    await expect(page.getByTestId('model-info')).toContainText('stories260K');
  } finally {
    await server.close();
  }
});
