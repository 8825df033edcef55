import { describe, expect, it } from 'vitest';
import { accuracy, argmax, argmaxNormalized, charLength, macroF1 } from '../../src/lib/eval/metrics';

// References computed by hand with scikit-learn's formula: per class F1 = 2TP / (2TP + FP + FN)
// over the union of labels in y_true and y_pred, then the unweighted mean.
describe('macroF1 (scikit-learn average="macro")', () => {
  it('includes a gold class that is never predicted, with F1 0', () => {
    // class 0: TP1 FP1 FN1 → 2/4 ; class 1: TP2 FP2 FN1 → 4/7 ; class 2: TP0 FN1 → 0
    const golds = [0, 0, 1, 1, 1, 2];
    const preds = [0, 1, 1, 1, 0, 1];
    expect(macroF1(golds, preds)).toBeCloseTo((0.5 + 4 / 7 + 0) / 3, 12); // 5/14
    expect(macroF1(golds, preds)).toBeCloseTo(5 / 14, 12);
  });

  it('includes a predicted class that never occurs in gold, with F1 0', () => {
    // class 0: TP2 FN1 → 4/5 ; class 1: FP1 → 0
    expect(macroF1([0, 0, 0], [0, 1, 0])).toBeCloseTo(0.4, 12);
  });

  it('a label absent from both golds and preds does not count', () => {
    // labels {0, 1} only: class 0: TP1 FP1 → 2/3 ; class 1: TP1 FN1 → 2/3
    expect(macroF1([0, 1, 1], [0, 0, 1])).toBeCloseTo(2 / 3, 12);
    expect(macroF1([1, 1], [1, 1])).toBe(1);
  });

  it('all predictions one class on a balanced binary set', () => {
    // class 0: TP2 FP2 → 4/6 ; class 1: FN2 → 0 ; macro = 1/3 (acc 0.5)
    const g = [0, 0, 1, 1];
    const p = [0, 0, 0, 0];
    expect(macroF1(g, p)).toBeCloseTo(1 / 3, 12);
    expect(accuracy(g, p)).toBe(0.5);
  });

  it('empty input gives 0 and mismatched lengths throw', () => {
    expect(macroF1([], [])).toBe(0);
    expect(() => macroF1([0], [])).toThrow();
  });
});

describe('argmax and acc_norm', () => {
  it('argmax takes the first of tied maxima (numpy)', () => {
    expect(argmax([-3, -1, -1, -2])).toBe(1);
  });

  it('acc_norm divides by the choice length in characters', () => {
    // raw: -10 > -12 → 0 ; normalised: -10/2 = -5 < -12/4 = -3 → 1
    expect(argmax([-10, -12])).toBe(0);
    expect(argmaxNormalized([-10, -12], ['ab', 'abcd'])).toBe(1);
    // Korean: 3 syllables = 3 characters
    expect(argmaxNormalized([-6, -3], ['가나다', '라'])).toBe(0); // -2 vs -3
  });

  it('counts code points like Python len()', () => {
    expect(charLength('😀a')).toBe(2);
    expect(charLength('예')).toBe(1);
  });
});
