/**
 * k-shot contexts (docs/methods.md §4): k examples from the shot pool (the train split, or the scored
 * split itself where no train split exists), each rendered as context + " " + gold choice,
 * joined by "\n\n", then "\n\n" + the test context.
 *
 * Shots are drawn as lm-evaluation-harness draws them (Python's `random.Random(seed).sample`, one
 * draw per scored item in file order, py-random.ts), so the lab and the harness score the same
 * contexts for the same seed; scoring the first n items (--limit) gives them the shots a full run
 * gives them.
 */
import type { McDoc } from './tasks';
import { TARGET_DELIMITER } from './requests';
import { mulberry32 } from '../model/sample';
import { PyRandom } from './py-random';

export const FEWSHOT_DELIMITER = '\n\n';

/** The engine's seeded PRNG (mulberry32): uniform floats in [0, 1). */
export const seededRandom: (seed: number) => () => number = mulberry32;

/**
 * The shots of each scored item, as lm-evaluation-harness's ContextSampler draws them: one
 * `Random(seed)` for the task, one `sample` per item in order. From a separate pool (the train
 * split), k indices. From the scored split itself, k + 1 indices, the item's own index dropped, the
 * first k kept; where that leaves fewer than k (the item was not among them only if the pool repeats
 * it), k more from the pool without the item.
 */
export function drawShots(rng: PyRandom, poolSize: number, k: number, exclude: number | null): number[] {
  const available = exclude === null ? poolSize : poolSize - 1;
  if (k > available) throw new Error(`--shots ${k}: the shot pool has only ${available} examples`);
  if (exclude === null) return rng.sampleIndices(poolSize, k);
  const drawn = rng
    .sampleIndices(poolSize, Math.min(k + 1, poolSize))
    .filter((j) => j !== exclude)
    .slice(0, k);
  if (drawn.length === k) return drawn;
  const rest = Array.from({ length: poolSize }, (_, j) => j).filter((j) => j !== exclude);
  return rng.sampleIndices(rest.length, k).map((j) => rest[j]);
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
  const rng = new PyRandom(seed);
  tests.forEach((doc, i) => {
    if (k === 0) {
      contexts.push(doc.context);
      shotIndices.push([]);
      return;
    }
    const exclude = testPoolIndex ? testPoolIndex[i] : null;
    const idx = drawShots(rng, pool.length, k, exclude);
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
