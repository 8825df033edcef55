/**
 * The Model view's frozen-base choice: the embedded model loads at 'auto' (f32 below 100M parameters),
 * each choice shows the weights' memory and the saving, and picking int8 reloads the model in the
 * workers with its block matrices packed (the facts then say int8).
 */
import { test, expect, openView, waitForEngine, forceBackend } from './fixtures';

test('Model view: frozen base choice reloads the model packed', async ({ page }) => {
  await page.goto('/');
  await waitForEngine(page);
  await forceBackend(page, 'wasm');
  await openView(page, 'Model');
  await expect(page.getByTestId('model-base')).toHaveText('f32', { timeout: 60_000 });
  const choice = page.getByTestId('base-choice');
  await expect(choice).toContainText('auto (f32 for this model)');
  await expect(choice).toContainText(/int8: weights [\d.]+ [KM]iB, saves [\d.]+ [KM]iB/);
  await choice.getByRole('radio', { name: /^int8/ }).check();
  await expect(page.getByTestId('model-base')).toHaveText('int8', { timeout: 60_000 });
});
