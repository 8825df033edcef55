/**
 * A win-rate session as a file: JSON (everything, and importable back) and CSV (one row per prompt,
 * then the totals). Both carry the 95% Wilson interval and the chance level (eval/wilson.ts).
 *
 * JSON (`format: "clo-lab-winrate"`, `version: 1`):
 *   { format, version, exportedAt, x, y, seed, createdAt, generation?,
 *     items: [{ index, prompt, answerX, answerY, shownAsA: "x"|"y", judgement: "a"|"b"|"tie"|null, outcome: "x"|"y"|"tie"|null }],
 *     totals: { total, judged, wins, ties, losses },
 *     winRate: { rate, ciLow, ciHigh, level: 0.95, method: "wilson", ties: "half", chance: 0.5 },
 *     session }            // the stored session itself, for import
 * CSV: `index,prompt,answer_x,answer_y,shown_as_a,judgement,outcome` rows, a blank line, then
 * `metric,value` rows (x, y, total, judged, wins, ties, losses, win_rate, ci95_low, ci95_high, chance).
 */
import { outcomeOf, summarize, type WinRateItem, type WinRateSession } from './winrate';
import { winRateStats } from './wilson';

export const WINRATE_FORMAT = 'clo-lab-winrate';

export interface GenerationSettings {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export interface WinRateExport {
  format: typeof WINRATE_FORMAT;
  version: 1;
  exportedAt: string;
  x: string;
  y: string;
  seed: number;
  createdAt: number;
  generation?: GenerationSettings;
  items: {
    index: number;
    prompt: string;
    answerX: string;
    answerY: string;
    shownAsA: 'x' | 'y';
    judgement: WinRateItem['judgement'];
    outcome: 'x' | 'y' | 'tie' | null;
  }[];
  totals: { total: number; judged: number; wins: number; ties: number; losses: number };
  winRate: {
    rate: number | null;
    ciLow: number;
    ciHigh: number;
    level: 0.95;
    method: 'wilson';
    ties: 'half';
    chance: number;
  };
  session: WinRateSession;
}

export function winRateExport(
  session: WinRateSession,
  generation?: GenerationSettings,
  now = new Date(),
): WinRateExport {
  const sum = summarize(session);
  const stats = winRateStats(sum.counts);
  return {
    format: WINRATE_FORMAT,
    version: 1,
    exportedAt: now.toISOString(),
    x: session.xLabel,
    y: session.yLabel,
    seed: session.seed,
    createdAt: session.createdAt,
    generation,
    items: session.items.map((it, index) => ({
      index,
      prompt: it.prompt,
      answerX: it.x,
      answerY: it.y,
      shownAsA: it.aIs,
      judgement: it.judgement,
      outcome: outcomeOf(it),
    })),
    totals: { total: sum.total, judged: sum.judged, ...sum.counts },
    winRate: {
      rate: Number.isNaN(stats.rate) ? null : stats.rate,
      ciLow: stats.ci.low,
      ciHigh: stats.ci.high,
      level: 0.95,
      method: 'wilson',
      ties: 'half',
      chance: stats.chance,
    },
    session,
  };
}

export function winRateJson(session: WinRateSession, generation?: GenerationSettings, now = new Date()): string {
  return JSON.stringify(winRateExport(session, generation, now), null, 1);
}

/** One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function winRateCsv(session: WinRateSession): string {
  const doc = winRateExport(session);
  const line = (cells: (string | number | null)[]) => cells.map(csvField).join(',');
  const out = [line(['index', 'prompt', 'answer_x', 'answer_y', 'shown_as_a', 'judgement', 'outcome'])];
  for (const it of doc.items)
    out.push(line([it.index + 1, it.prompt, it.answerX, it.answerY, it.shownAsA, it.judgement, it.outcome]));
  out.push('', line(['metric', 'value']));
  const w = doc.winRate;
  const metrics: [string, string | number | null][] = [
    ['x', doc.x],
    ['y', doc.y],
    ['total', doc.totals.total],
    ['judged', doc.totals.judged],
    ['wins', doc.totals.wins],
    ['ties', doc.totals.ties],
    ['losses', doc.totals.losses],
    ['win_rate', w.rate],
    ['ci95_low', w.ciLow],
    ['ci95_high', w.ciHigh],
    ['chance', w.chance],
  ];
  for (const m of metrics) out.push(line(m));
  return out.join('\n') + '\n';
}

/** Reads a JSON export back into a session; throws a one-line reason when the file is not one. */
export function parseWinRateJson(text: string): { session: WinRateSession; generation?: GenerationSettings } {
  let doc: Partial<WinRateExport>;
  try {
    doc = JSON.parse(text) as Partial<WinRateExport>;
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (doc?.format !== WINRATE_FORMAT) throw new Error(`not a win-rate export (expected "format": "${WINRATE_FORMAT}")`);
  if (doc.version !== 1) throw new Error(`unsupported win-rate export version ${String(doc.version)}`);
  const s = doc.session;
  if (!s || typeof s.id !== 'string' || !Array.isArray(s.items))
    throw new Error('the export has no "session" with an id and items');
  s.items.forEach((it, i) => {
    const ok =
      typeof it?.prompt === 'string' &&
      typeof it.x === 'string' &&
      typeof it.y === 'string' &&
      (it.aIs === 'x' || it.aIs === 'y') &&
      (it.judgement === null || it.judgement === 'a' || it.judgement === 'b' || it.judgement === 'tie');
    if (!ok) throw new Error(`session item ${i + 1} is malformed`);
  });
  return {
    session: {
      id: s.id,
      xLabel: String(s.xLabel ?? 'X'),
      yLabel: String(s.yLabel ?? 'Y'),
      seed: Number(s.seed ?? 0),
      createdAt: Number(s.createdAt ?? Date.now()),
      items: s.items.map((it) => ({ prompt: it.prompt, x: it.x, y: it.y, aIs: it.aIs, judgement: it.judgement })),
    },
    generation: doc.generation,
  };
}
