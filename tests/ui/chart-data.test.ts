/**
 * Chart helpers (src/ui/components/chart-data.ts) of the training curves shown in Train, Compare and
 * Experiments: tick labels of small values (the learning-rate axis), legend values, overlay merge, the
 * loss curves of experiment arms.
 */
import { describe, expect, it } from 'vitest';
import {
  armLossCurves,
  formatTicks,
  formatValue,
  lastFinite,
  overlayCurves,
  uniqueLabels,
} from '../../src/ui/components/chart-data';

describe('formatTicks', () => {
  it('learning-rate ticks read as distinct exponent labels, not "0"', () => {
    const labels = formatTicks([0, 5e-5, 1e-4, 1.5e-4, 2e-4]);
    expect(labels).toEqual(['0', '5.0e-5', '1.0e-4', '1.5e-4', '2.0e-4']);
    expect(formatTicks([0.0001, 0.0002, 0.0003])).toEqual(['1e-4', '2e-4', '3e-4']);
  });

  it('fixed notation with the decimals the step needs', () => {
    expect(formatTicks([0, 0.25, 0.5, 0.75, 1])).toEqual(['0', '0.25', '0.50', '0.75', '1.00']);
    expect(formatTicks([2, 4, 6])).toEqual(['2', '4', '6']);
    expect(formatTicks([0.002, 0.004, 0.006])).toEqual(['0.002', '0.004', '0.006']);
    // floating-point noise in uPlot's splits does not add digits
    expect(formatTicks([0.1, 0.1 + 0.2, 0.5])).toEqual(['0.1', '0.3', '0.5']);
  });

  it('large values in exponent notation; negative zero and nulls', () => {
    expect(formatTicks([100000, 200000])).toEqual(['1e+5', '2e+5']);
    expect(formatTicks([null, -0.5, 0, 0.5])).toEqual(['', '-0.5', '0', '0.5']);
    expect(formatTicks([])).toEqual([]);
  });

  it('no two different ticks share a label (a sweep of scales)', () => {
    for (let e = -9; e <= 7; e++) {
      const step = 10 ** e;
      const ticks = [1, 2, 3, 4, 5].map((k) => k * step * 2.5);
      const labels = formatTicks(ticks);
      expect(new Set(labels).size).toBe(ticks.length);
      expect(labels.includes('0')).toBe(false);
    }
  });
});

describe('legend values', () => {
  it('formatValue keeps small values readable', () => {
    expect(formatValue(2e-4)).toBe('2.000e-4');
    expect(formatValue(3.14159)).toBe('3.142');
    expect(formatValue(null)).toBe('–');
    expect(formatValue(0)).toBe('0');
  });

  it('lastFinite skips trailing gaps', () => {
    expect(lastFinite([1, 2, null, NaN])).toBe(2);
    expect(lastFinite([null])).toBeNull();
  });
});

describe('overlayCurves', () => {
  it('puts runs of different lengths and steps on the union of steps, with gaps', () => {
    const { x, series } = overlayCurves([
      {
        label: 'a',
        points: [
          [1, 3],
          [2, 2.5],
          [3, 2],
        ],
      },
      {
        label: 'b',
        points: [
          [2, 4],
          [4, 3.5],
          [3, NaN],
        ],
      },
    ]);
    expect(x).toEqual([1, 2, 3, 4]);
    expect(series).toEqual([
      { label: 'a', values: [3, 2.5, 2, null] },
      { label: 'b', values: [null, 4, null, 3.5] },
    ]);
  });

  it('uniqueLabels tells two runs with one name apart', () => {
    expect(uniqueLabels(['run', 'run', 'x'])).toEqual(['run', 'run (2)', 'x']);
  });
});

describe('armLossCurves', () => {
  it("puts each arm's k-th step at x = k, the shorter arm ending in gaps", () => {
    const curves = armLossCurves([
      { label: 'sft', metrics: [{ loss: 3 }, { loss: 2.5 }, { loss: 2 }] },
      { label: 'clo', metrics: [{ loss: 4 }, { loss: NaN }] },
    ]);
    expect(curves).toEqual({
      x: [1, 2, 3],
      series: [
        { label: 'sft', values: [3, 2.5, 2] },
        { label: 'clo', values: [4, null, null] },
      ],
    });
    expect(armLossCurves([])).toBeNull();
  });
});
