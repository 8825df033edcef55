/**
 * Repetition of a generation, reported beside language fidelity (docs/experiments.md) so that
 * degenerate output ("chchchch…", one word over and over) is not read as fluent text: the script
 * share counts "chchch" as English, these measures do not.
 *
 * Units are characters (Unicode code points, whitespace collapsed), so the measures work the same
 * for Hangul and Latin text and for any tokenizer:
 * - distinct4: distinct character 4-grams / all character 4-grams (1 = nothing repeats; a text
 *   that cycles through a short pattern approaches 0);
 * - repeatedShare: 2·L / length, where L is the length of the longest substring that occurs twice
 *   without overlapping itself (capped at 1): the share of the text taken by its longest repeat;
 * - degenerate: distinct4 < 0.5 or repeatedShare ≥ 0.5 (fewer than 8 characters: not judged).
 */

export interface Repetition {
  chars: number;
  distinct4: number | null;
  repeatedShare: number | null;
  degenerate: boolean;
}

const N = 4;
const MIN_CHARS = 8;

function normalise(text: string): string[] {
  return [...text.replace(/\s+/g, ' ').trim()];
}

/** Distinct character n-grams / all character n-grams; null when the text has fewer than n characters. */
export function distinctN(chars: string[], n: number): number | null {
  if (chars.length < n) return null;
  const seen = new Set<string>();
  const total = chars.length - n + 1;
  for (let i = 0; i < total; i++) seen.add(chars.slice(i, i + n).join('\u0000'));
  return seen.size / total;
}

/**
 * Length of the longest substring occurring at least twice without overlapping itself
 * (O(n²) dynamic programming; generations are a few hundred characters).
 */
export function longestRepeat(chars: string[]): number {
  const n = chars.length;
  let best = 0;
  // dp[j] = length of the common suffix of chars[..i] and chars[..j] (j > i), limited so the two copies do not overlap
  let prev = new Uint16Array(n + 1);
  for (let i = 1; i <= n; i++) {
    const cur = new Uint16Array(n + 1);
    for (let j = i + 1; j <= n; j++) {
      if (chars[i - 1] === chars[j - 1] && prev[j - 1] < j - i) {
        cur[j] = prev[j - 1] + 1;
        if (cur[j] > best) best = cur[j];
      }
    }
    prev = cur;
  }
  return best;
}

export function repetition(text: string): Repetition {
  const chars = normalise(text);
  if (chars.length < MIN_CHARS) return { chars: chars.length, distinct4: null, repeatedShare: null, degenerate: false };
  const distinct4 = distinctN(chars, N) as number;
  const repeatedShare = Math.min(1, (2 * longestRepeat(chars)) / chars.length);
  return { chars: chars.length, distinct4, repeatedShare, degenerate: distinct4 < 0.5 || repeatedShare >= 0.5 };
}

export interface RepetitionSummary {
  n: number;
  /** mean distinct4 over judged generations (null when none) */
  meanDistinct4: number | null;
  /** share of generations flagged degenerate */
  degenerateShare: number | null;
}

export function summarizeRepetition(texts: string[]): RepetitionSummary {
  const reps = texts.map(repetition);
  const judged = reps.filter((r) => r.distinct4 !== null);
  return {
    n: texts.length,
    meanDistinct4: judged.length === 0 ? null : judged.reduce((s, r) => s + (r.distinct4 as number), 0) / judged.length,
    degenerateShare: texts.length === 0 ? null : reps.filter((r) => r.degenerate).length / texts.length,
  };
}
