import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { loadLlama2c } from '../../src/lib/formats/llama2c';
import type { LoadedModel } from '../../src/lib/model/model';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const SHARED = resolve(ROOT, '../shared');
export const STORIES_DIR = resolve(SHARED, 'models/stories260K');

export function loadStories(): LoadedModel {
  const bin = new Uint8Array(readFileSync(resolve(STORIES_DIR, 'stories260K.bin')));
  const tok = new Uint8Array(readFileSync(resolve(STORIES_DIR, 'tok512.bin')));
  return loadLlama2c(bin, tok, 'stories260K', 'stories260K', 'stories260K.bin', 'tok512.bin');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an untyped JSON tree of reference outputs; the assertions check its values
export function golden(): any {
  return JSON.parse(readFileSync(resolve(STORIES_DIR, 'golden_reference.json'), 'utf8'));
}
