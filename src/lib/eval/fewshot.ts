/**
 * k-shot contexts (docs/methods.md §4): k examples from the shot pool (the train split, or the scored
 * split itself where no train split exists), each rendered as context + " " + gold choice,
 * joined by "\n\n", then "\n\n" + the test context.
 *
 * Shots are drawn per test item with a PRNG seeded from (seed, item index), so an item's shots do
 * not depend on which other items are scored (--limit) or in what order.
 */
import type { McDoc } from './tasks';
import { TARGET_DELIMITER } from './requests';
import { mulberry32 } from '../model/sample';

export const FEWSHOT_DELIMITER = '\n\n';

/** The engine's seeded PRNG (mulberry32): uniform floats in [0, 1). */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** Mixes a run seed and an item index into one 32-bit seed. */
export function itemSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 0x85ebca6b), 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * k distinct indices into a pool of `poolSize`, never `exclude` (the test item's own index when
 * the pool is the scored split). Throws when the pool is too small.
 */
export function sampleShotIndices(
  poolSize: number,
  k: number,
  rng: () => number,
  exclude: number | null = null,
): number[] {
  const candidates: number[] = [];
  for (let i = 0; i < poolSize; i++) if (i !== exclude) candidates.push(i);
  if (k > candidates.length) throw new Error(`--shots ${k}: the shot pool has only ${candidates.length} examples`);
  // partial Fisher–Yates
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (candidates.length - i));
    const t = candidates[i];
    candidates[i] = candidates[j];
    candidates[j] = t;
  }
  return candidates.slice(0, k);
}

/** One rendered example: its context, the delimiter and its gold choice. */
export function renderShot(doc: McDoc): string {
  return doc.context + TARGET_DELIMITER + doc.choices[doc.gold];
}

/** The full context for a test document given its shots (none: the context unchanged). */
export function fewshotContext(shots: McDoc[], test: McDoc): string {
  if (shots.length === 0) return test.context;
  return shots.map(renderShot).join(FEWSHOT_DELIMITER) + FEWSHOT_DELIMITER + test.context;
}

export interface FewshotPlan {
  /** the context to score for each test item */
  contexts: string[];
  /** pool indices of each item's shots */
  shotIndices: number[][];
  seed: number;
  k: number;
}

/**
 * Builds the k-shot contexts for `tests`. `samePool` says the pool is the scored split itself,
 * with test item i at pool index `testPoolIndex[i]` (excluded from its own shots).
 */
export function planFewshot(
  tests: McDoc[],
  pool: McDoc[],
  k: number,
  seed: number,
  testPoolIndex: (number | null)[] | null = null,
): FewshotPlan {
  const contexts: string[] = [];
  const shotIndices: number[][] = [];
  tests.forEach((doc, i) => {
    if (k === 0) {
      contexts.push(doc.context);
      shotIndices.push([]);
      return;
    }
    const exclude = testPoolIndex ? testPoolIndex[i] : null;
    const idx = sampleShotIndices(pool.length, k, seededRandom(itemSeed(seed, i)), exclude);
    shotIndices.push(idx);
    contexts.push(
      fewshotContext(
        idx.map((j) => pool[j]),
        doc,
      ),
    );
  });
  return { contexts, shotIndices, seed, k };
}
