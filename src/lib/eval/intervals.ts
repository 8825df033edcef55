/**
 * Uncertainty and chance levels for multiple-choice results (accuracy, macro-F1), so a score on 20
 * items is read with its spread and against what guessing would give.
 *
 * - Accuracy: Wilson score interval (binomial, 95% by default). Unlike the normal approximation it
 *   stays inside [0, 1] and is sensible at 0/n and n/n.
 * - Macro-F1: percentile bootstrap over items (resample n items with replacement, recompute macro-F1
 *   as metrics.ts does, take the 2.5% and 97.5% quantiles), with a fixed seed so the same result always
 *   shows the same interval.
 * - Chance: accuracy of a uniform random guesser = mean over items of 1 / (number of choices);
 *   macro-F1 of a uniform random guesser over K classes, in the large-n limit, given the gold class
 *   shares p_c: precision_c → p_c, recall_c → 1/K, so F1_c = 2·p_c / (K·p_c + 1) and the chance
 *   macro-F1 is the mean of F1_c over the K classes (1/K when the classes are balanced).
 */
import { mulberry32 } from '../model/sample';

// One Wilson interval in the lab: wilson.ts (also used for win rates). n = 0 gives [0, 1] there.
export { Z95, wilsonInterval, type Interval } from './wilson';
import { wilsonInterval, type Interval } from './wilson';

export interface BootstrapOptions {
  /** resamples (default 1000) */
  resamples?: number;
  /** PRNG seed (mulberry32; default 1234) */
  seed?: number;
  /** coverage (default 0.95) */
  level?: number;
}

export const DEFAULT_BOOTSTRAP_RESAMPLES = 1000;
export const DEFAULT_BOOTSTRAP_SEED = 1234;

/** Quantile of sorted values with linear interpolation between order statistics (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Percentile bootstrap of any statistic of n items: `stat(indices)` gets the n resampled item
 * indices (with repeats). Deterministic for a seed.
 */
export function bootstrapInterval(
  n: number,
  stat: (indices: Int32Array) => number,
  opts: BootstrapOptions = {},
): Interval {
  if (!(n > 0)) return { low: NaN, high: NaN };
  const B = opts.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const level = opts.level ?? 0.95;
  const rng = mulberry32(opts.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const stats = new Float64Array(B);
  const idx = new Int32Array(n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng() * n);
    stats[b] = stat(idx);
  }
  stats.sort();
  const a = (1 - level) / 2;
  return { low: quantileSorted(stats, a), high: quantileSorted(stats, 1 - a) };
}

/**
 * Macro-F1 of the items at `indices` with metrics.ts's convention (classes = labels seen in golds or
 * preds of these items; per class 2·TP / (2·TP + FP + FN)), from a confusion table. `classes` is an
 * upper bound on the labels (labels are 0-based integers).
 */
function macroF1At(golds: ArrayLike<number>, preds: ArrayLike<number>, indices: Int32Array, classes: number): number {
  const tp = new Int32Array(classes);
  const goldCount = new Int32Array(classes);
  const predCount = new Int32Array(classes);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    const g = golds[i];
    const p = preds[i];
    goldCount[g]++;
    predCount[p]++;
    if (g === p) tp[g]++;
  }
  let sum = 0;
  let seen = 0;
  for (let c = 0; c < classes; c++) {
    const denom = goldCount[c] + predCount[c]; // = 2·TP + FP + FN
    if (denom === 0) continue;
    seen++;
    sum += (2 * tp[c]) / denom;
  }
  return seen === 0 ? 0 : sum / seen;
}

/** Percentile bootstrap interval of macro-F1 over items (default 1000 resamples, seed 1234, 95%). */
export function macroF1Interval(golds: number[], preds: number[], opts: BootstrapOptions = {}): Interval {
  if (golds.length !== preds.length) throw new Error('macroF1Interval: golds and preds differ in length');
  let classes = 0;
  for (const v of [...golds, ...preds]) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`macroF1Interval: label ${v} is not a class index`);
    classes = Math.max(classes, v + 1);
  }
  return bootstrapInterval(golds.length, (idx) => macroF1At(golds, preds, idx, classes), opts);
}

/** Chance accuracy of a uniform random guesser: mean over items of 1 / (choices of the item). */
export function chanceAccuracy(choicesPerItem: number[]): number {
  if (choicesPerItem.length === 0) return NaN;
  let s = 0;
  for (const k of choicesPerItem) {
    if (!(k >= 1)) throw new Error(`chanceAccuracy: an item with ${k} choices`);
    s += 1 / k;
  }
  return s / choicesPerItem.length;
}

/**
 * Expected macro-F1 of a uniform random guesser over `classes` classes in the large-n limit, given the
 * gold labels (their class shares): mean over the classes of 2·p_c / (K·p_c + 1). Balanced golds give 1/K.
 */
export function chanceMacroF1(golds: number[], classes: number): number {
  if (golds.length === 0 || !(classes >= 1)) return NaN;
  const counts = new Array<number>(classes).fill(0);
  for (const g of golds) {
    if (!(g >= 0 && g < classes)) throw new Error(`chanceMacroF1: gold ${g} outside 0..${classes - 1}`);
    counts[g]++;
  }
  let sum = 0;
  for (const c of counts) {
    const p = c / golds.length;
    sum += (2 * p) / (classes * p + 1);
  }
  return sum / classes;
}

/** Choices per item of the bundled tasks (tasks.ts), for results that carry no per-item data. */
export const TASK_CHOICES: Record<string, number> = {
  kobest_boolq: 2,
  kobest_copa: 2,
  kobest_hellaswag: 4,
  kobest_sentineg: 2,
  kobest_wic: 2,
  en_boolq: 2,
  en_copa: 2,
  en_hellaswag: 4,
};

/** What a task result needs for its intervals; `items` (gold, pred, one loglik per choice) when stored. */
export interface ScoredTask {
  n: number;
  acc: number;
  macro_f1: number;
  items?: { gold: number; pred: number; loglik: number[] }[];
}

export interface TaskUncertainty {
  /** Wilson 95% interval of accuracy */
  acc: Interval;
  /** bootstrap 95% interval of macro-F1; null without per-item results */
  macroF1: Interval | null;
  /** accuracy of a uniform random guesser; null when the number of choices is unknown */
  chanceAcc: number | null;
  /** macro-F1 of a uniform random guesser (gold shares of the items, or balanced without items); null when unknown */
  chanceMacroF1: number | null;
}

const cache = new WeakMap<object, TaskUncertainty>();

/**
 * Intervals and chance levels of one task result (cached per result object). Accuracy's interval
 * needs only n and acc; macro-F1's bootstrap and the gold-share chance need the per-item results.
 */
export function taskUncertainty(task: string, r: ScoredTask, opts: BootstrapOptions = {}): TaskUncertainty {
  const useCache = opts.resamples === undefined && opts.seed === undefined && opts.level === undefined;
  const hit = useCache ? cache.get(r) : undefined;
  if (hit) return hit;
  const items = r.items && r.items.length === r.n ? r.items : null;
  const acc = wilsonInterval(Math.round(r.acc * r.n), r.n);
  let out: TaskUncertainty;
  if (items && items.length > 0) {
    const golds = items.map((i) => i.gold);
    const preds = items.map((i) => i.pred);
    const classes = Math.max(...items.map((i) => i.loglik.length));
    out = {
      acc,
      macroF1: macroF1Interval(golds, preds, opts),
      chanceAcc: chanceAccuracy(items.map((i) => i.loglik.length)),
      chanceMacroF1: chanceMacroF1(golds, classes),
    };
  } else {
    const k = TASK_CHOICES[task];
    out = { acc, macroF1: null, chanceAcc: k ? 1 / k : null, chanceMacroF1: k ? 1 / k : null };
  }
  if (useCache) cache.set(r, out);
  return out;
}

export type IntervalMetric = 'acc' | 'macro_f1' | 'acc_norm';

/**
 * The interval and chance level of one metric of a task result: accuracy and acc_norm by Wilson,
 * macro-F1 by the bootstrap (null without per-item results); chance of acc_norm is that of accuracy.
 */
export function metricUncertainty(
  task: string,
  r: ScoredTask & { acc_norm?: number },
  metric: IntervalMetric,
): { interval: Interval | null; chance: number | null } {
  const u = taskUncertainty(task, r);
  if (metric === 'macro_f1') return { interval: u.macroF1, chance: u.chanceMacroF1 };
  if (metric === 'acc') return { interval: u.acc, chance: u.chanceAcc };
  if (r.acc_norm === undefined || !Number.isFinite(r.acc_norm)) return { interval: null, chance: u.chanceAcc };
  return { interval: wilsonInterval(Math.round(r.acc_norm * r.n), r.n), chance: u.chanceAcc };
}

/** "[39.7, 89.2]": an interval in percent with one decimal ('' when undefined). */
export function formatIntervalPct(iv: Interval | null | undefined): string {
  if (!iv || !Number.isFinite(iv.low) || !Number.isFinite(iv.high)) return '';
  return `[${(100 * iv.low).toFixed(1)}, ${(100 * iv.high).toFixed(1)}]`;
}

/** One-line statement of the methods, for captions and tooltips. */
export const INTERVALS_NOTE =
  'Brackets: 95% intervals; accuracy by the Wilson score interval, macro-F1 by a percentile bootstrap over items (1,000 resamples, seed 1234). Chance: a uniform random guesser (accuracy = mean 1/choices; macro-F1 = its large-sample expectation given the gold class shares).';
