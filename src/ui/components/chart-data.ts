/**
 * Pure helpers of the uPlot line chart (Chart.svelte): tick labels that stay distinct for tiny or huge
 * values (a learning rate of 2e-4 must not read "0"), legend values, and the merge of several runs'
 * curves onto one shared x axis for overlays.
 */

/**
 * Labels for axis ticks: fixed notation, or exponent notation (2.0e-4) when the largest value is below
 * 1e-3 or from 1e5 up; with the fewest digits that still give each tick back to within a millionth of
 * the tick step, so neighbouring ticks never read alike (a learning rate of 2e-4 never reads "0").
 */
export function formatTicks(ticks: (number | null)[]): string[] {
  const vals = ticks.filter((v): v is number => v !== null && Number.isFinite(v));
  if (vals.length === 0) return ticks.map(() => '');
  const maxAbs = Math.max(...vals.map(Math.abs));
  const sorted = [...new Set(vals)].sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) step = Math.min(step, sorted[i] - sorted[i - 1]);
  const tol = 1e-6 * (Number.isFinite(step) ? step : maxAbs || 1);
  const useExp = maxAbs !== 0 && (maxAbs < 1e-3 || maxAbs >= 1e5);
  const render = (d: number) => (v: number) => {
    if (v === 0) return '0';
    const s = useExp ? v.toExponential(d) : v.toFixed(d);
    return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
  };
  let d = 0;
  while (d < 12 && vals.some((v) => Math.abs(Number(render(d)(v)) - v) > tol)) d++;
  const f = render(d);
  return ticks.map((v) => (v === null || !Number.isFinite(v) ? '' : f(v)));
}

/** One value for a legend or a label: 4 significant digits, exponent notation when tiny or huge. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** The last finite value of a series (the legend's value when no point is hovered). */
export function lastFinite(values: ArrayLike<number | null | undefined>): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) return v;
  }
  return null;
}

export interface CurveInput {
  label: string;
  /** [x, y] points, any order; non-finite y are gaps */
  points: [number, number | null][];
}

export interface OverlaySeries {
  label: string;
  values: (number | null)[];
}

/**
 * Curves of several runs on one x axis: x = the sorted union of every run's steps; each series has a
 * value at its own steps and null (a gap, bridged by the chart) elsewhere. A repeated step keeps its
 * last value.
 */
export function overlayCurves(curves: CurveInput[]): { x: number[]; series: OverlaySeries[] } {
  const xs = [...new Set(curves.flatMap((c) => c.points.map((p) => p[0])))]
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const series = curves.map((c) => {
    const values: (number | null)[] = new Array(xs.length).fill(null);
    for (const [x, y] of c.points) {
      const i = at.get(x);
      if (i !== undefined) values[i] = y !== null && Number.isFinite(y) ? y : null;
    }
    return { label: c.label, values };
  });
  return { x: xs, series };
}

/**
 * The loss curves of an experiment's arms on one axis: each arm's k-th recorded step at x = k (an
 * arm of several stages counts on through them); null where the arm has no step k. Null when there
 * are no arms.
 */
export function armLossCurves(
  arms: { label: string; metrics: { loss: number }[] }[],
): { x: number[]; series: OverlaySeries[] } | null {
  if (arms.length === 0) return null;
  return overlayCurves(arms.map((a) => ({ label: a.label, points: a.metrics.map((m, i) => [i + 1, m.loss]) })));
}

/** Series labels made unique (two runs with one name get "name (2)") so the legend tells them apart. */
export function uniqueLabels(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((l) => {
    const k = (seen.get(l) ?? 0) + 1;
    seen.set(l, k);
    return k === 1 ? l : `${l} (${k})`;
  });
}
