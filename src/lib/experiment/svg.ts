/** A small SVG renderer for the report's charts (line charts of training curves, grouped bars). No DOM needed. */

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}
const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3)));

export interface Series {
  label: string;
  points: [number, number][];
}

/** Overlaid line chart; non-finite points are dropped. */
export function lineChartSvg(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  w = 640,
  h = 360,
): string {
  const pad = { l: 64, r: 16, t: 32, b: 72 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs, 0);
  const x1 = Math.max(...xs, 1);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (!Number.isFinite(y0)) {
    y0 = 0;
    y1 = 1;
  }
  if (y1 === y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (w - pad.l - pad.r);
  const Y = (y: number) => h - pad.b - ((y - y0) / (y1 - y0)) * (h - pad.t - pad.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    `<text x="${w / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1))
    parts.push(
      `<line x1="${pad.l}" x2="${w - pad.r}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/><text x="${pad.l - 4}" y="${Y(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  for (const t of niceTicks(x0, x1))
    parts.push(`<text x="${X(t)}" y="${h - pad.b + 14}" text-anchor="middle">${fmt(t)}</text>`);
  parts.push(
    `<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${h - pad.b}" stroke="#333"/><line x1="${pad.l}" x2="${w - pad.r}" y1="${h - pad.b}" y2="${h - pad.b}" stroke="#333"/>`,
  );
  parts.push(`<text x="${(pad.l + w - pad.r) / 2}" y="${h - pad.b + 30}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(
    `<text transform="translate(14 ${(pad.t + h - pad.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const d = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`)
      .join('');
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.5"/>`);
    const lx = pad.l + (i % 3) * ((w - pad.l - pad.r) / 3);
    const ly = h - 22 + Math.floor(i / 3) * 14 - (series.length > 3 ? 8 : 0);
    parts.push(
      `<rect x="${lx}" y="${ly - 8}" width="10" height="10" fill="${c}"/><text x="${lx + 14}" y="${ly + 1}">${esc(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface BarGroup {
  label: string;
  /** one value per measure (null: not measured) */
  values: (number | null)[];
}

/** Grouped bars: one group per arm, one bar per measure; zero line drawn; values printed on the bars. */
export function barChartSvg(title: string, measures: string[], groups: BarGroup[], w = 640, h = 360): string {
  const pad = { l: 64, r: 16, t: 32, b: 30 + 14 * measures.length };
  const vals = groups.flatMap((g) => g.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const y0 = Math.min(0, ...vals);
  let y1 = Math.max(0, ...vals);
  if (y1 === y0) y1 = y0 + 1;
  const Y = (y: number) => h - pad.b - ((y - y0) / (y1 - y0)) * (h - pad.t - pad.b);
  const gw = (w - pad.l - pad.r) / Math.max(1, groups.length);
  const bw = (gw * 0.8) / Math.max(1, measures.length);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    `<text x="${w / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1))
    parts.push(
      `<line x1="${pad.l}" x2="${w - pad.r}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/><text x="${pad.l - 4}" y="${Y(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  groups.forEach((g, gi) => {
    const gx = pad.l + gi * gw + gw * 0.1;
    g.values.forEach((v, mi) => {
      if (v === null || !Number.isFinite(v)) return;
      const top = Math.min(Y(v), Y(0));
      const hh = Math.abs(Y(v) - Y(0));
      parts.push(
        `<rect x="${(gx + mi * bw).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${Math.max(hh, 0.5).toFixed(1)}" fill="${PALETTE[mi % PALETTE.length]}"/>`,
      );
      parts.push(
        `<text x="${(gx + mi * bw + bw / 2).toFixed(1)}" y="${(v >= 0 ? top - 3 : top + hh + 11).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(v)}</text>`,
      );
    });
    parts.push(
      `<text x="${(gx + gw * 0.4).toFixed(1)}" y="${h - pad.b + 14}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  parts.push(`<line x1="${pad.l}" x2="${w - pad.r}" y1="${Y(0)}" y2="${Y(0)}" stroke="#333"/>`);
  measures.forEach((m, i) => {
    // one legend line per measure, under the group labels
    const ly = h - 14 * (measures.length - i) - 4;
    parts.push(
      `<rect x="${pad.l}" y="${ly}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${pad.l + 14}" y="${ly + 9}">${esc(m)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
