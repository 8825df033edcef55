import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { loadLlama2c } from '../../src/lib/formats/llama2c';
import type { LoadedModel } from '../../src/lib/model/model';
import { decodeDataBytes, type DataSource } from '../../src/lib/eval/data';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const SHARED = resolve(ROOT, '../shared');
export const STORIES_DIR = resolve(SHARED, 'models/stories260K');

/**
 * A path under ../shared (the model, golden outputs and source data the tests compare with), or a
 * thrown error saying what is missing: a test that needs it fails loudly instead of skipping.
 */
export function requireShared(...parts: string[]): string {
  const p = resolve(SHARED, ...parts);
  if (!existsSync(p)) {
    throw new Error(
      `missing ${p}: this test needs the shared model and data checked out as ../shared next to the repository (see README)`,
    );
  }
  return p;
}

/** The bundled evaluation data (public/data, gzipped) as an eval DataSource. */
export function bundledSource(): DataSource {
  return {
    label: 'public/data',
    read: async (rel) => new Uint8Array(readFileSync(resolve(ROOT, 'public/data', `${rel}.gz`))),
  };
}

/** The first n raw JSON rows of a bundled (gzipped) data file, e.g. 'kobest/copa.test.jsonl'. */
export function bundledRows(rel: string, n: number): Record<string, unknown>[] {
  const text = decodeDataBytes(new Uint8Array(readFileSync(resolve(ROOT, 'public/data', `${rel}.gz`))));
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, n)
    .map((l) => JSON.parse(l));
}

export function loadStories(): LoadedModel {
  const bin = new Uint8Array(readFileSync(requireShared('models/stories260K', 'stories260K.bin')));
  const tok = new Uint8Array(readFileSync(requireShared('models/stories260K', 'tok512.bin')));
  return loadLlama2c(bin, tok, 'stories260K', 'stories260K', 'stories260K.bin', 'tok512.bin');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an untyped JSON tree of reference outputs; the assertions check its values
export function golden(): any {
  return JSON.parse(readFileSync(requireShared('models/stories260K', 'golden_reference.json'), 'utf8'));
}

/** Every file under `dir` whose name matches `ext`, recursively, sorted. */
export function listFiles(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, ext));
    else if (ext.test(e)) out.push(p);
  }
  return out.sort();
}
