/**
 * Narrow and wide layouts: every view at a phone size (390×844) and a laptop size (1280×800) fits
 * the viewport without horizontal page scroll (`document.documentElement.scrollWidth <=
 * window.innerWidth`; wide tables scroll inside themselves). A screenshot of each view at both sizes
 * goes to test-results/artifacts/screens/ and into the report (testInfo.attach). On a failure the
 * message names the elements that stick out past the right edge.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, openView, waitForEngine } from './fixtures';

const VIEWS = [
  'Start here',
  'Model',
  'Data',
  'Pairs',
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

/** The page's horizontal overflow and up to 5 of the widest offenders (tag.class#testid: right edge). */
async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; offenders: string[] }> {
  return page.evaluate(() => {
    const innerWidth = window.innerWidth;
    const offenders: { right: number; what: string }[] = [];
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= innerWidth + 0.5) continue;
      // an element inside a scroll container that clips it is fine
      let clipped = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const ox = getComputedStyle(p).overflowX;
        if (ox !== 'visible' && p.getBoundingClientRect().right <= innerWidth + 0.5) {
          clipped = true;
          break;
        }
      }
      if (clipped) continue;
      const id = el.getAttribute('data-testid');
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.split(' ')[0]}` : '';
      offenders.push({ right: Math.round(r.right), what: `${el.tagName.toLowerCase()}${cls}${id ? `#${id}` : ''}` });
    }
    offenders.sort((a, b) => b.right - a.right);
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth,
      offenders: offenders.slice(0, 5).map((o) => `${o.what}: ${o.right}px`),
    };
  });
}

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
    }
    expect(failures, 'views wider than the viewport').toEqual([]);
  });
}
