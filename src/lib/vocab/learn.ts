/**
 * Learns target-language tokens from a corpus (docs/methods.md §8 step 1): the most frequent Hangul
 * syllables first, then BPE merges over runs of those syllables (a word's leading space may join
 * its first syllable, as SentencePiece-style tokenizers do). Every learned token contains at least
 * one Hangul syllable, so text without Hangul never meets one and tokenizes exactly as before.
 *
 * The result is tokenizer-neutral: a list of new pieces (spaces as ' ') in the order they must be
 * ranked, each syllable standing alone and each merged piece with the pair (a, b) it merges.
 */

export interface LearnedPiece {
  piece: string;
  /** the pair this piece merges, absent for single syllables */
  merge?: [string, string];
  /** occurrences in the corpus when it was learned */
  count: number;
}

export interface LearnOptions {
  /** how many new tokens to learn (the user's N) */
  add: number;
  /** pieces the tokenizer already has: never added again */
  has?: (piece: string) => boolean;
  /** share of N spent on single syllables at most (default 0.6); the rest goes to merges */
  syllableShare?: number;
  /** minimum corpus count of a syllable or a merged pair (default 2) */
  minCount?: number;
  /** label used in error messages (the corpus file name) */
  source?: string;
  /** called now and then so a page can show progress and stay responsive */
  onProgress?: (done: number, total: number) => void;
}

export interface LearnResult {
  pieces: LearnedPiece[];
  syllables: number;
  merges: number;
  /** most tokens this corpus could give with the thresholds used */
  available: number;
}

const HANGUL_FIRST = 0xac00;
const HANGUL_LAST = 0xd7a3;
export function isHangulSyllable(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return c >= HANGUL_FIRST && c <= HANGUL_LAST;
}
export function hasHangul(s: string): boolean {
  for (const ch of s) if (isHangulSyllable(ch)) return true;
  return false;
}

/** Counts of each syllable in the texts. */
export function syllableCounts(texts: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts) for (const ch of t) if (isHangulSyllable(ch)) m.set(ch, (m.get(ch) ?? 0) + 1);
  return m;
}

/**
 * Runs of known syllables, each with its word's leading space when the run starts the word:
 * "안녕하세요, 세상" → [" 안녕하세요", " 세상"]. Counted (unique run → occurrences).
 */
function runCounts(texts: string[], known: Set<string>): Map<string, number> {
  const runs = new Map<string, number>();
  for (const t of texts) {
    for (const word of t.split(/\s+/)) {
      if (!word) continue;
      let cur = '';
      let first = true;
      const flush = () => {
        if (cur) runs.set(cur, (runs.get(cur) ?? 0) + 1);
        cur = '';
      };
      for (const ch of word) {
        if (known.has(ch)) {
          if (!cur && first) cur = ' ';
          cur += ch;
        } else flush();
        first = false;
      }
      flush();
    }
  }
  return runs;
}

const SEP = '\u0000';

export function learnTokens(texts: string[], opts: LearnOptions): LearnResult {
  const src = opts.source ?? 'corpus';
  const add = opts.add;
  if (!Number.isInteger(add) || add < 1)
    throw new Error(`${src}: the number of tokens to add must be a positive integer (got ${add})`);
  const minCount = opts.minCount ?? 2;
  const has = opts.has ?? (() => false);
  const counts = syllableCounts(texts);
  if (counts.size === 0) throw new Error(`${src}: no Hangul text to learn tokens from`);

  // 1. syllables, most frequent first (ties: code point order, so the result is deterministic)
  const sorted = [...counts.entries()]
    .filter(([, c]) => c >= minCount)
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  const sylCap = Math.max(1, Math.floor(add * (opts.syllableShare ?? 0.6)));
  const pieces: LearnedPiece[] = [];
  const known = new Set<string>();
  for (const [ch, c] of sorted) {
    if (has(ch)) {
      known.add(ch);
      continue;
    }
    if (pieces.length >= sylCap) continue;
    pieces.push({ piece: ch, count: c });
    known.add(ch);
  }
  const syllables = pieces.length;

  // 2. BPE merges over runs of known syllables (incremental pair counts)
  const runs = [...runCounts(texts, known).entries()];
  // A run that starts a word starts with its space as a separate symbol; " x" is learned like any merge.
  const words: string[][] = runs.map(([r]) => (r.startsWith(' ') ? [' ', ...Array.from(r.slice(1))] : Array.from(r)));
  const freq = runs.map(([, c]) => c);
  const pairCount = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (w: number, sign: number) => {
    const s = words[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = s[i] + SEP + s[i + 1];
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[w]);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);
  let merges = 0;
  const target = add;
  while (pieces.length < target) {
    let best = '';
    let bestC = minCount - 1;
    for (const [k, c] of pairCount)
      if (c > bestC || (c === bestC && c >= minCount && k < best)) {
        best = k;
        bestC = c;
      }
    if (!best) break;
    const [a, b] = best.split(SEP);
    const merged = a + b;
    for (const w of pairWords.get(best) ?? []) {
      const s = words[w];
      let hit = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) hit = true;
      if (!hit) continue;
      addPairs(w, -1);
      const out: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(s[i]);
      }
      words[w] = out;
      addPairs(w, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
    if (!has(merged)) {
      pieces.push({ piece: merged, merge: [a, b], count: bestC });
      merges++;
    }
    if (merges % 64 === 0) opts.onProgress?.(pieces.length, target);
  }
  opts.onProgress?.(pieces.length, target);
  if (pieces.length < add) {
    throw new Error(
      `${src}: the corpus gives only ${pieces.length} new tokens (${syllables} syllables, ${merges} merges seen at least ${minCount} times), fewer than the ${add} asked for`,
    );
  }
  return { pieces, syllables, merges, available: pieces.length };
}
