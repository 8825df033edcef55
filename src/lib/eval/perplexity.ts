/**
 * Held-out English perplexity (docs/methods.md §5) over TinyStories paragraphs: each paragraph is its
 * own sequence with BOS; every token after BOS is scored once. A paragraph longer than the model's
 * window is cut into consecutive windows of maxSeqLen + 1 tokens that overlap by one token, so each
 * token is scored exactly once (with a shorter context at window starts).
 */
import type { LoadedModel } from '../model/model';
import type { LoraState } from '../lora/types';
import { scoreSequences } from '../model/score';
import type { ScoreItem } from './requests';
import { throwIfAborted } from './abort';

export interface PerplexityResult {
  paragraphs: number;
  tokens: number;
  /** mean negative log-likelihood per token (nats) */
  nll: number;
  perplexity: number;
}

/** Windows covering ids[1..] once each: window c = ids[c·L .. c·L + L], scored from position 1. */
export function perplexityWindows(ids: number[], maxSeqLen: number): ScoreItem[] {
  const out: ScoreItem[] = [];
  for (let s = 0; s + 1 < ids.length; s += maxSeqLen) {
    out.push({ ids: ids.slice(s, s + maxSeqLen + 1), start: 1 });
  }
  return out;
}

/** Parses JSONL lines with a `text` field (tinystories.dev_paragraphs.jsonl). */
export function paragraphsFromJsonl(text: string, fileName: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`${fileName} line ${i + 1}: not valid JSON`);
    }
    const t = (v as { text?: unknown })?.text;
    if (typeof t !== 'string') throw new Error(`${fileName} line ${i + 1}: field "text" missing or not a string`);
    out.push(t);
  });
  return out;
}

export interface ScoreTextsOptions {
  lora?: LoraState | null;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Total negative log-likelihood (nats) and scored-token count of texts, each its own sequence with
 * BOS, every token after BOS scored once (perplexityWindows). Shared by perplexity and bits/char.
 */
export async function scoreTexts(
  model: LoadedModel,
  texts: string[],
  opts: ScoreTextsOptions = {},
): Promise<{ nats: number; tokens: number }> {
  let nats = 0;
  let tokens = 0;
  const chunk = 16;
  for (let p = 0; p < texts.length; p += chunk) {
    throwIfAborted(opts.signal);
    const items = texts
      .slice(p, p + chunk)
      .flatMap((t) => perplexityWindows(model.tokenizer.encode(t, { bos: true }), model.config.maxSeqLen));
    const scores = await scoreSequences(model, items, { lora: opts.lora ?? null, batchSize: opts.batchSize });
    for (const s of scores) {
      nats -= s.sum;
      tokens += s.count;
    }
    opts.onProgress?.(Math.min(p + chunk, texts.length), texts.length);
  }
  return { nats, tokens };
}

export async function perplexity(
  model: LoadedModel,
  paragraphs: string[],
  opts: ScoreTextsOptions = {},
): Promise<PerplexityResult> {
  const { nats: nllSum, tokens } = await scoreTexts(model, paragraphs, opts);
  const nll = tokens === 0 ? NaN : nllSum / tokens;
  return { paragraphs: paragraphs.length, tokens, nll, perplexity: Math.exp(nll) };
}
