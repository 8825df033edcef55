/**
 * tests/ mirrors src/lib/: each folder of tests/ is either a folder of src/lib (its tests test that
 * folder) or one of the few named folders for what is not the engine (the CLI, the bench, the workers, the docs,
 * framework-free helpers of src/ui, shared helpers, Python interop, browser e2e and the fuzz sweep).
 * No test file sits loose in tests/.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/helpers';

const NOT_ENGINE = ['architecture', 'bench', 'cli', 'docs', 'e2e', 'fuzz', 'helpers', 'python', 'ui', 'workers'];

const dirs = (p: string) => readdirSync(p).filter((e) => statSync(join(p, e)).isDirectory());

export function strayTestFolders(testDirs: string[], libDirs: string[]): string[] {
  return testDirs.filter((d) => !libDirs.includes(d) && !NOT_ENGINE.includes(d));
}

describe('tests/ mirrors src/lib/', () => {
  const tests = resolve(ROOT, 'tests');
  const lib = dirs(resolve(ROOT, 'src/lib'));

  it('every test folder is a src/lib folder or a named non-engine folder', () => {
    expect(strayTestFolders(dirs(tests), lib)).toEqual([]);
  });

  it('no test file loose in tests/', () => {
    expect(readdirSync(tests).filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it('the check catches a stray folder (planted)', () => {
    expect(strayTestFolders(['model', 'unit', 'cli'], ['model'])).toEqual(['unit']);
  });
});
