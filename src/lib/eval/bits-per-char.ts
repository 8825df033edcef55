/**
 * Bits per character and tokens per character on held-out text (docs/methods.md, tokenizer-neutral
 * metrics): unlike per-token loss, bits/char compares models whose tokenizers differ (a vocabulary
 * extension changes how many tokens a text takes, not how many characters it has). Each text is
 * its own sequence with BOS; every token after BOS is scored once (windows as in perplexity).
 * Characters are Unicode code points of the text as given.
 */
import type { LoadedModel } from '../model/model';
import { scoreTexts, type ScoreTextsOptions } from './perplexity';

export interface BitsPerCharResult {
  texts: number;
  chars: number;
  /** scored tokens (BOS excluded) */
  tokens: number;
  tokens_per_char: number;
  bits_per_char: number;
}

export function countChars(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Tokens per character of `texts` under the model's tokenizer, without scoring (cheap). */
export function tokensPerChar(encode: (t: string) => number[], texts: string[]): number {
  let chars = 0;
  let tokens = 0;
  for (const t of texts) {
    chars += countChars(t);
    tokens += encode(t).length;
  }
  return chars === 0 ? NaN : tokens / chars;
}

export async function bitsPerChar(
  model: LoadedModel,
  texts: string[],
  opts: ScoreTextsOptions = {},
): Promise<BitsPerCharResult> {
  const { nats, tokens } = await scoreTexts(model, texts, opts);
  const chars = texts.reduce((n, t) => n + countChars(t), 0);
  return {
    texts: texts.length,
    chars,
    tokens,
    tokens_per_char: chars === 0 ? NaN : tokens / chars,
    bits_per_char: chars === 0 ? NaN : nats / Math.LN2 / chars,
  };
}
