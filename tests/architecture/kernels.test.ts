/**
 * One kernel seam (src/lib/model/kernels/): which implementation of an op runs is decided in
 * kernels/registry.ts alone, so no other file of src/lib/model compares the current backend's name
 * (`tf.getBackend() === 'wasm'` and the like); and the lab's changes to tfjs (registerKernel /
 * unregisterKernel, the replaced engine.gradients) are made only under src/lib/model/kernels/ and
 * src/lib/model/backprop.ts, installed by installLabKernels.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/helpers';

const MODEL = resolve(ROOT, 'src/lib/model');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Lines comparing getBackend() with something (either side of ===, !==, ==, !=). */
export function backendComparisons(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return code
    .split('\n')
    .filter((l) => /getBackend\(\)\s*[!=]==?|[!=]==?\s*(tf\.)?getBackend\(\)/.test(l))
    .map((l) => l.trim());
}

describe('the kernel seam', () => {
  it('no getBackend() comparison in src/lib/model outside kernels/registry.ts', () => {
    const found = tsFiles(MODEL)
      .filter((f) => relative(MODEL, f) !== join('kernels', 'registry.ts'))
      .flatMap((f) => backendComparisons(readFileSync(f, 'utf8')).map((l) => `${relative(ROOT, f)}: ${l}`));
    expect(found).toEqual([]);
  });

  it('tfjs kernels are registered or replaced only under src/lib/model/kernels/', () => {
    const lib = resolve(ROOT, 'src/lib');
    const found = tsFiles(lib)
      .filter((f) => !relative(lib, f).startsWith(join('model', 'kernels')))
      .filter((f) => /\b(registerKernel|unregisterKernel)\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(found).toEqual([]);
  });

  it('the eager backward is installed only by installLabKernels', () => {
    const found = tsFiles(resolve(ROOT, 'src'))
      .filter((f) => /installEagerBackward\(\)/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(found.sort()).toEqual(['src/lib/model/backprop.ts', 'src/lib/model/kernels/install.ts']);
  });

  it('the check catches a comparison (planted)', () => {
    expect(backendComparisons("if (tf.getBackend() === 'wasm') x();\n// getBackend() === 'cpu'")).toEqual([
      "if (tf.getBackend() === 'wasm') x();",
    ]);
    expect(backendComparisons("const w = 'wasm' !== getBackend();")).toHaveLength(1);
    expect(backendComparisons('const b = tf.getBackend();')).toEqual([]);
  });
});
