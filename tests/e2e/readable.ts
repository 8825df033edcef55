/**
 * Text that reads: no word or number of the tab strip or the open view is split across lines (the
 * "one letter per line" columns and "HellaSw / ag", "+7115. / 84" breaks). Each run of non-space
 * characters is measured with a DOM Range; if its boxes sit on more than one line it was broken.
 * Breaks after a hyphen, dash or slash are ordinary line-break opportunities and allowed, as are
 * tokens longer than 24 characters (paths, hashes, URLs may wrap on a phone) and text in code, pre,
 * inputs and text areas.
 *
 *   await expectReadable(page, testInfo, 'Compare');  // checks at 390 and 1280 px, attaches screenshots
 */
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { expect } from './fixtures';

export const READABLE_SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'laptop', width: 1280, height: 800 },
] as const;

/** Words of the visible view and the tab strip broken across lines: "word (tag)" for each, at most 12. */
export async function brokenWords(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const SKIP = new Set(['CODE', 'PRE', 'TEXTAREA', 'INPUT', 'SCRIPT', 'STYLE', 'SVG']);
    const roots = Array.from(document.querySelectorAll('[role="tablist"], [role="tabpanel"]:not([hidden]) section'));
    const found: string[] = [];
    for (const root of roots) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node && found.length < 12; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!parent || parent.closest('code, pre, textarea, svg, .uplot')) continue;
        if (SKIP.has(parent.tagName)) continue;
        const text = node.textContent ?? '';
        // tokens: runs of non-space characters, cut after the characters a line may break at
        for (const token of text.matchAll(/\S+/g)) {
          if (token[0].length > 24 || token[0].includes('://')) continue;
          for (const m of token[0].matchAll(/[^\-–—/]+/g)) {
            const word = m[0];
            if (word.length < 2) continue;
            const start = token.index + m.index;
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, start + word.length);
            const tops = new Set<number>();
            for (const r of Array.from(range.getClientRects())) if (r.width > 0) tops.add(Math.round(r.top / 4));
            if (tops.size > 1) found.push(`${word} (${parent.tagName.toLowerCase()})`);
          }
        }
      }
    }
    return found;
  });
}

/** The page's horizontal overflow and up to 5 of the widest offenders (tag.class#testid: right edge). */
export async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; offenders: string[] }> {
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

/**
 * Checks the open view at a phone and a laptop width: no broken words, no page wider than the
 * viewport. Saves a screenshot of each size under the test's output folder and attaches it. The
 * viewport is left at the laptop size.
 */
export async function expectReadable(page: Page, testInfo: TestInfo, label: string): Promise<void> {
  const problems: string[] = [];
  for (const size of READABLE_SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const file = `${label.toLowerCase().replace(/\W+/g, '-')}-${size.width}.png`;
    const path = join(testInfo.outputDir, 'screens', file);
    await page.screenshot({ path, fullPage: true });
    await testInfo.attach(`${label} at ${size.width} px`, { path, contentType: 'image/png' });
    const broken = await brokenWords(page);
    if (broken.length) problems.push(`${label} at ${size.width} px breaks inside: ${broken.join(', ')}`);
    const o = await overflow(page);
    if (o.scrollWidth > o.innerWidth)
      problems.push(`${label} at ${size.width} px: page ${o.scrollWidth} px wide (${o.offenders.join(', ')})`);
  }
  expect(problems, 'text broken mid-word or a page wider than the screen').toEqual([]);
}
