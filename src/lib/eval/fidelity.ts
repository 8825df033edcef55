/**
 * Language fidelity (docs/methods.md §5): for generations to prompts in language L, the share whose
 * letters are mostly (more than half) in L's script.
 * Korean: Hangul syllables U+AC00–U+D7A3, jamo U+1100–U+11FF, compatibility jamo U+3130–U+318F,
 * over all letters (Unicode category L). English: Latin-script letters over all letters.
 */

export type ScriptLang = 'ko' | 'en';

export function isHangul(cp: number): boolean {
  return (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0x3130 && cp <= 0x318f);
}

const LETTER = /\p{L}/u;
const LATIN = /\p{Script=Latin}/u;

/** Letters of `lang`'s script and all letters in `text`. */
export function scriptCounts(text: string, lang: ScriptLang): { inScript: number; letters: number } {
  let inScript = 0;
  let letters = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    // compatibility jamo include a few non-letter code points; count all of the block as Hangul letters
    const hangul = isHangul(cp);
    if (!hangul && !LETTER.test(ch)) continue;
    letters++;
    if (lang === 'ko' ? hangul : LATIN.test(ch)) inScript++;
  }
  return { inScript, letters };
}

/** Share of letters in `lang`'s script; null when the text has no letters. */
export function scriptShare(text: string, lang: ScriptLang): number | null {
  const { inScript, letters } = scriptCounts(text, lang);
  return letters === 0 ? null : inScript / letters;
}

/** A generation is faithful when more than half its letters are in the script (no letters: not faithful). */
export function isFaithful(text: string, lang: ScriptLang): boolean {
  const s = scriptShare(text, lang);
  return s !== null && s > 0.5;
}

export interface FidelityReport {
  lang: ScriptLang;
  n: number;
  faithful: number;
  /** faithful / n, in [0, 1]; NaN for no generations */
  fidelity: number;
  /** mean script share over generations that have letters */
  meanShare: number;
}

export function languageFidelity(generations: string[], lang: ScriptLang): FidelityReport {
  let faithful = 0;
  let shareSum = 0;
  let withLetters = 0;
  for (const g of generations) {
    const s = scriptShare(g, lang);
    if (s !== null) {
      shareSum += s;
      withLetters++;
      if (s > 0.5) faithful++;
    }
  }
  return {
    lang,
    n: generations.length,
    faithful,
    fidelity: generations.length === 0 ? NaN : faithful / generations.length,
    meanShare: withLetters === 0 ? NaN : shareSum / withLetters,
  };
}
