/**
 * Wilson score interval for a binomial proportion (Wilson 1927), and the win rate with its
 * interval and chance level.
 *
 *   centre ± half, where with p̂ = k/n and z the normal quantile (1.959964 for 95%):
 *   centre = (p̂ + z²/(2n)) / (1 + z²/n)
 *   half   = z · sqrt(p̂(1 − p̂)/n + z²/(4n²)) / (1 + z²/n)
 *
 * Unlike the normal ("Wald") interval it stays inside [0, 1] and is not zero-width at 0/n or n/n,
 * which matters for the handful of prompts a person judges by hand.
 */

/** Two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson interval for `successes` out of `n` trials. `successes` may be fractional (ties counted
 * as half a win, see winRateStats). n = 0 gives the uninformative [0, 1].
 */
export function wilsonInterval(successes: number, n: number, z = Z95): Interval {
  if (!(n >= 0) || !(successes >= 0) || successes > n)
    throw new Error(`wilsonInterval: need 0 <= successes <= n, got ${successes} of ${n}`);
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface WinRateStats {
  /** X's win rate: (wins + ties/2) / judged; NaN when nothing is judged */
  rate: number;
  /** 95% Wilson interval of the rate */
  ci: Interval;
  /** what a judge flipping a coin would give: 0.5 for a two-way judgement */
  chance: number;
  /** judged prompts (the n of the interval) */
  n: number;
  /** whether the interval lies entirely above or below chance */
  verdict: 'better' | 'worse' | 'undecided';
}

/**
 * The win rate of X over Y with its 95% Wilson interval. A tie counts as half a win and half a
 * loss (so n is every judged prompt, and a judge who always says "tie" sits exactly at chance,
 * 50%). The verdict is 'better' or 'worse' only when the interval excludes 50%.
 */
export function winRateStats(counts: { wins: number; ties: number; losses: number }, z = Z95): WinRateStats {
  const n = counts.wins + counts.ties + counts.losses;
  const successes = counts.wins + counts.ties / 2;
  const ci = wilsonInterval(successes, n, z);
  const chance = 0.5;
  const verdict = n === 0 ? 'undecided' : ci.low > chance ? 'better' : ci.high < chance ? 'worse' : 'undecided';
  return { rate: n === 0 ? NaN : successes / n, ci, chance, n, verdict };
}
