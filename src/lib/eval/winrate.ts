/**
 * Pairwise win rate (docs/methods.md §5): two runs (X and Y) answer the same prompts; a judge picks
 * A, B or tie for each prompt, blind to which run is which. The A/B order is random per prompt
 * (seeded) and recorded. Results: wins / ties / losses of X in percent.
 */
import { seededRandom } from './fewshot';

export type Judgement = 'a' | 'b' | 'tie';
export type Outcome = 'x' | 'y' | 'tie';

export interface WinRateItem {
  prompt: string;
  /** run X's answer */
  x: string;
  /** run Y's answer */
  y: string;
  /** which run is shown as A: 'x' means A = X, B = Y */
  aIs: 'x' | 'y';
  judgement: Judgement | null;
}

export interface WinRateSession {
  id: string;
  /** labels of the two runs (e.g. run names, or 'base') */
  xLabel: string;
  yLabel: string;
  seed: number;
  createdAt: number;
  items: WinRateItem[];
}

export interface WinRateSummary {
  judged: number;
  total: number;
  /** X's wins / ties / losses in percent of judged prompts (NaN when none judged) */
  wins: number;
  ties: number;
  losses: number;
  /** the same as counts */
  counts: { wins: number; ties: number; losses: number };
}

export function createSession(
  id: string,
  xLabel: string,
  yLabel: string,
  prompts: { prompt: string; x: string; y: string }[],
  seed: number,
  createdAt = Date.now(),
): WinRateSession {
  const rng = seededRandom(seed);
  return {
    id,
    xLabel,
    yLabel,
    seed,
    createdAt,
    items: prompts.map((p) => ({ ...p, aIs: rng() < 0.5 ? 'x' : 'y', judgement: null })),
  };
}

/** What the judge sees for item i. */
export function shownPair(item: WinRateItem): { a: string; b: string } {
  return item.aIs === 'x' ? { a: item.x, b: item.y } : { a: item.y, b: item.x };
}

/** Maps a blind judgement back to the runs. */
export function outcomeOf(item: WinRateItem): Outcome | null {
  if (item.judgement === null) return null;
  if (item.judgement === 'tie') return 'tie';
  const pickedA = item.judgement === 'a';
  return pickedA === (item.aIs === 'x') ? 'x' : 'y';
}

/** Returns a new session with item `index` judged. */
export function recordJudgement(session: WinRateSession, index: number, judgement: Judgement): WinRateSession {
  if (index < 0 || index >= session.items.length) throw new Error(`win rate: no prompt ${index + 1} in this session`);
  const items = session.items.map((it, i) => (i === index ? { ...it, judgement } : it));
  return { ...session, items };
}

export function summarize(session: WinRateSession): WinRateSummary {
  const counts = { wins: 0, ties: 0, losses: 0 };
  for (const it of session.items) {
    const o = outcomeOf(it);
    if (o === 'x') counts.wins++;
    else if (o === 'y') counts.losses++;
    else if (o === 'tie') counts.ties++;
  }
  const judged = counts.wins + counts.ties + counts.losses;
  const pct = (n: number) => (judged === 0 ? NaN : (100 * n) / judged);
  return {
    judged,
    total: session.items.length,
    wins: pct(counts.wins),
    ties: pct(counts.ties),
    losses: pct(counts.losses),
    counts,
  };
}

/** "41.6 / 28.5 / 29.9" */
export function formatSummary(s: WinRateSummary): string {
  const f = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(1));
  return `${f(s.wins)} / ${f(s.ties)} / ${f(s.losses)}`;
}
