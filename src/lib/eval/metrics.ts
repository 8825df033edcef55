/**
 * Metrics with the conventions of lm-evaluation-harness / scikit-learn (docs/methods.md §4).
 */

/** Index of the largest value; ties go to the first (numpy argmax). */
export function argmax(values: number[]): number {
  if (values.length === 0) throw new Error('argmax of an empty list');
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Length in characters as Python counts them (code points, not UTF-16 units). */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** acc_norm prediction: argmax of loglik / len(choice in characters). */
export function argmaxNormalized(loglik: number[], choices: string[]): number {
  return argmax(loglik.map((ll, i) => ll / Math.max(1, charLength(choices[i]))));
}

export function accuracy(golds: number[], preds: number[]): number {
  if (golds.length !== preds.length) throw new Error('accuracy: golds and preds differ in length');
  if (golds.length === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < golds.length; i++) if (golds[i] === preds[i]) hit++;
  return hit / golds.length;
}

/**
 * scikit-learn `f1_score(y_true, y_pred, average="macro")`: the classes are the union of the labels
 * in golds and preds; per class F1 = 2·TP / (2·TP + FP + FN), which is 0 for a class that occurs
 * in golds but is never predicted (and for one predicted but never gold). A class in the union
 * always has a non-zero denominator, so the zero-division setting never applies; an empty input
 * gives 0 (scikit-learn returns 0.0 with a warning).
 */
export function macroF1(golds: number[], preds: number[]): number {
  if (golds.length !== preds.length) throw new Error('macroF1: golds and preds differ in length');
  const labels = [...new Set([...golds, ...preds])].sort((a, b) => a - b);
  if (labels.length === 0) return 0;
  let sum = 0;
  for (const c of labels) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < golds.length; i++) {
      const g = golds[i] === c;
      const p = preds[i] === c;
      if (g && p) tp++;
      else if (p) fp++;
      else if (g) fn++;
    }
    const denom = 2 * tp + fp + fn;
    sum += denom === 0 ? 0 : (2 * tp) / denom;
  }
  return sum / labels.length;
}
