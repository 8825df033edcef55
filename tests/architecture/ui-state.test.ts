/**
 * Shared UI state lives in rune modules: the page side (src/ui, src/App.svelte, src/main.ts) never
 * imports `svelte/store`, and every module in src/ui/stores is a `*.svelte.ts` rune module that holds
 * `$state`, except the few plain modules listed in PLAIN (with why they hold no state).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { listFiles, ROOT } from '../helpers/helpers';

const STORES = resolve(ROOT, 'src/ui/stores');

/** Plain `.ts` modules allowed in src/ui/stores, and why they hold no shared state. */
const PLAIN: Record<string, string> = {
  'generation.ts': 'streams one generation job from the training worker; keeps no state the views read',
};

/** Module specifiers a .ts or .svelte source imports (for .svelte: from its <script> blocks). */
export function importsOf(source: string, isSvelte: boolean): string[] {
  const code = isSvelte
    ? [...source.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n')
    : source;
  return ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
}

export const usesSvelteStore = (specs: string[]) => specs.some((s) => s === 'svelte/store');

/** Why a file in src/ui/stores breaks the rule, or null when it keeps it. */
export function storeFileProblem(name: string, source: string): string | null {
  if (name.endsWith('.svelte.ts')) {
    return /\$state(\.raw)?\s*[<(]/.test(source) ? null : `${name} is a rune module without $state: make it plain .ts`;
  }
  if (!(name in PLAIN)) return `${name} is a plain .ts module: shared state belongs in a *.svelte.ts rune module`;
  if (usesSvelteStore(importsOf(source, false))) return `${name} imports svelte/store`;
  if (/^export\s+(let|var)\b/m.test(source)) return `${name} exports a mutable binding`;
  return null;
}

describe('shared UI state in rune modules', () => {
  it('no page module imports svelte/store', () => {
    const files = [
      ...listFiles(resolve(ROOT, 'src/ui'), /\.(ts|svelte)$/),
      resolve(ROOT, 'src/App.svelte'),
      resolve(ROOT, 'src/main.ts'),
    ];
    expect(files.length).toBeGreaterThan(20);
    const bad = files.filter((f) => usesSvelteStore(importsOf(readFileSync(f, 'utf8'), f.endsWith('.svelte'))));
    expect(bad.map((f) => relative(ROOT, f).split(sep).join('/'))).toEqual([]);
  });

  it('every module in src/ui/stores is a *.svelte.ts rune module, or a listed plain one', () => {
    const names = readdirSync(STORES).filter((n) => statSync(join(STORES, n)).isFile());
    expect(names.filter((n) => n.endsWith('.svelte.ts')).length).toBeGreaterThanOrEqual(7);
    const problems = names.map((n) => storeFileProblem(n, readFileSync(join(STORES, n), 'utf8'))).filter(Boolean);
    expect(problems).toEqual([]);
    expect(
      Object.keys(PLAIN).filter((n) => !names.includes(n)),
      'PLAIN entries without a file: remove them',
    ).toEqual([]);
  });

  it('the checks catch what they are for (planted sources)', () => {
    expect(
      usesSvelteStore(importsOf(`<script lang="ts">\n import { get } from 'svelte/store';\n</script>`, true)),
    ).toBe(true);
    expect(usesSvelteStore(importsOf(`import { onMount } from 'svelte';`, false))).toBe(false);
    expect(storeFileProblem('pairs.ts', `export const x = writable(0);`)).toMatch(/rune module/);
    expect(storeFileProblem('pairs.svelte.ts', `export const x = { a: 1 };`)).toMatch(/without \$state/);
    expect(storeFileProblem('pairs.svelte.ts', `class S { a = $state.raw<number[]>([]); }`)).toBeNull();
    expect(storeFileProblem('generation.ts', `import { writable } from 'svelte/store';`)).toMatch(/svelte\/store/);
    expect(storeFileProblem('generation.ts', `export let pending = 0;`)).toMatch(/mutable/);
  });
});
