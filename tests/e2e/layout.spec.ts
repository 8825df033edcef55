/**
 * Narrow and wide layouts: every view at a phone size (390×844) and a laptop size (1280×800) fits
 * the viewport without horizontal page scroll (`document.documentElement.scrollWidth <=
 * window.innerWidth`; wide tables scroll inside themselves), no word broken across lines (readable.ts)
 * and a tab strip of at most a tenth of the screen's height. A screenshot of each view at both sizes
 * goes to test-results/artifacts/screens/ and into the report (testInfo.attach). On a failure the
 * message names the elements that stick out past the right edge.
 */
import { join } from 'node:path';
import { test, expect, openView, waitForEngine } from './fixtures';
import { brokenWords, overflow } from './readable';

const VIEWS = [
  'Start here',
  'Model',
  'Data',
  'Pairs',
  'Vocabulary',
  'Train',
  'Evaluate',
  'Compare',
  'Win rate',
  'Playground',
  'Experiments',
  'About',
];
const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'laptop', width: 1280, height: 800 },
];

for (const size of SIZES) {
  test(`every view fits ${size.width} px without horizontal scroll (${size.name})`, async ({ page }, testInfo) => {
    test.setTimeout(180_000);
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.goto('/');
    await waitForEngine(page);
    const failures: string[] = [];
    for (const label of VIEWS) {
      await openView(page, label);
      await page.waitForLoadState('networkidle');
      const o = await overflow(page);
      const file = `${size.width}-${label.toLowerCase().replace(' ', '-')}.png`;
      const path = join(testInfo.project.outputDir, 'screens', file);
      await page.screenshot({ path, fullPage: true });
      await testInfo.attach(`${label} at ${size.width}×${size.height}`, { path, contentType: 'image/png' });
      if (o.scrollWidth > o.innerWidth)
        failures.push(`${label}: page ${o.scrollWidth}px wide in ${o.innerWidth}px (${o.offenders.join(', ')})`);
      const broken = await brokenWords(page);
      if (broken.length) failures.push(`${label}: broken inside ${broken.join(', ')}`);
      const tabs = await page.getByRole('tablist', { name: 'Lab views' }).boundingBox();
      if (tabs && tabs.height > 0.1 * size.height)
        failures.push(`${label}: the tabs take ${Math.round(tabs.height)}px of ${size.height}px`);
    }
    expect(failures, 'views wider than the viewport').toEqual([]);
  });
}
