/**
 * English retention and language fidelity (docs/methods.md §5), runnable from the CLI and the eval worker:
 * - heldOutPerplexity: perplexity.ts over the held-out TinyStories paragraphs (optionally the first n);
 * - languageFidelity: greedy generations to the bundled fidelity prompts, each counted as in-language
 *   when most of its letters are in the prompt language's script (fidelity.ts).
 */
import type { LoadedModel } from '../model/model';
import type { LoraState } from '../lora/types';
import { generate } from '../model/generate';
import { decodeDataBytes, type DataSource } from './data';
import { isFaithful, type ScriptLang } from './fidelity';
import { paragraphsFromJsonl, perplexity } from './perplexity';
import { throwIfAborted } from './abort';
import { repetition } from './repetition';

/** Data files, relative to a DataSource root (public/data). */
export const HELD_OUT_PARAGRAPHS_FILE = 'english/tinystories.dev_paragraphs.jsonl';
export const FIDELITY_PROMPTS_FILE = 'fidelity/prompts.jsonl';
export const DEFAULT_FIDELITY_MAX_NEW_TOKENS = 48;

export interface FidelityPrompt {
  id: string;
  lang: ScriptLang;
  /** the full prompt text (already in the Alpaca template) */
  prompt: string;
}

export interface FidelityItem {
  id: string;
  lang: ScriptLang;
  text: string;
  inLanguage: boolean;
  /** the answer loops (repetition.ts); absent in results stored before it was measured */
  degenerate?: boolean;
}

/**
 * The one fidelity measure: the share of answers mostly in the prompt's script and, beside it, the
 * share that loop (repetition.ts), so that `"BTTTTTT…` is not read as fluent English.
 */
export interface LangShare {
  n: number;
  /** in-language generations / n; null when n = 0 */
  share: number | null;
  /** degenerate generations / n; null when n = 0; absent in results stored before it was measured */
  degenerate?: number | null;
}

export interface FidelitySummary {
  ko: LangShare;
  en: LangShare;
  items: FidelityItem[];
}

export interface HeldOutPerplexity {
  /** paragraphs scored */
  n: number;
  tokens: number;
  ppl: number;
  /** mean negative log-likelihood per token, nats */
  nll: number;
}

/** Parses fidelity prompts JSONL ({id, lang: 'ko'|'en', prompt}); the first bad row throws naming file and line. */
export function parseFidelityPrompts(text: string, fileName: string): FidelityPrompt[] {
  const out: FidelityPrompt[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`${fileName} line ${i + 1}: not valid JSON`);
    }
    const r = v as Partial<Record<'id' | 'lang' | 'prompt', unknown>> | null;
    if (typeof r?.id !== 'string' || typeof r.prompt !== 'string')
      throw new Error(`${fileName} line ${i + 1}: fields "id" and "prompt" must be strings`);
    if (r.lang !== 'ko' && r.lang !== 'en')
      throw new Error(`${fileName} line ${i + 1}: field "lang" must be "ko" or "en"`);
    out.push({ id: r.id, lang: r.lang, prompt: r.prompt });
  });
  return out;
}

/** The first `limit` prompts of each language (all when limit is null), in file order. */
export function limitPerLanguage(prompts: FidelityPrompt[], limit: number | null | undefined): FidelityPrompt[] {
  if (limit == null) return prompts;
  const seen: Record<ScriptLang, number> = { ko: 0, en: 0 };
  return prompts.filter((p) => ++seen[p.lang] <= limit);
}

/** Per-language shares of in-language and of degenerate generations. */
export function summarizeFidelity(generations: { id: string; lang: ScriptLang; text: string }[]): FidelitySummary {
  const items = generations.map((g) => ({
    ...g,
    inLanguage: isFaithful(g.text, g.lang),
    degenerate: repetition(g.text).degenerate,
  }));
  const share = (lang: ScriptLang): LangShare => {
    const mine = items.filter((i) => i.lang === lang);
    const of = (count: number) => (mine.length === 0 ? null : count / mine.length);
    return {
      n: mine.length,
      share: of(mine.filter((i) => i.inLanguage).length),
      degenerate: of(mine.filter((i) => i.degenerate).length),
    };
  };
  return { ko: share('ko'), en: share('en'), items };
}

async function readText(source: DataSource, rel: string): Promise<string> {
  try {
    return decodeDataBytes(await source.read(rel));
  } catch (err) {
    throw new Error(`${source.label}/${rel}: cannot read (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
}

export async function loadFidelityPrompts(source: DataSource): Promise<FidelityPrompt[]> {
  return parseFidelityPrompts(
    await readText(source, FIDELITY_PROMPTS_FILE),
    `${source.label}/${FIDELITY_PROMPTS_FILE}`,
  );
}

export async function loadHeldOutParagraphs(source: DataSource): Promise<string[]> {
  return paragraphsFromJsonl(
    await readText(source, HELD_OUT_PARAGRAPHS_FILE),
    `${source.label}/${HELD_OUT_PARAGRAPHS_FILE}`,
  );
}

export interface RetentionRunOptions {
  lora?: LoraState | null;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Held-out perplexity over the first `limit` paragraphs (all when null). */
export async function heldOutPerplexity(
  model: LoadedModel,
  paragraphs: string[],
  opts: RetentionRunOptions & { limit?: number | null; batchSize?: number } = {},
): Promise<HeldOutPerplexity> {
  const chosen = opts.limit == null ? paragraphs : paragraphs.slice(0, opts.limit);
  const r = await perplexity(model, chosen, {
    lora: opts.lora ?? null,
    batchSize: opts.batchSize,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  return { n: r.paragraphs, tokens: r.tokens, ppl: r.perplexity, nll: r.nll };
}

/** Greedy generation (temperature 0) to each prompt, then per-language in-script shares. */
export async function languageFidelity(
  model: LoadedModel,
  prompts: FidelityPrompt[],
  opts: RetentionRunOptions & { maxNewTokens?: number } = {},
): Promise<FidelitySummary> {
  const maxNewTokens = opts.maxNewTokens ?? DEFAULT_FIDELITY_MAX_NEW_TOKENS;
  const gens: { id: string; lang: ScriptLang; text: string }[] = [];
  opts.onProgress?.(0, prompts.length);
  for (const p of prompts) {
    throwIfAborted(opts.signal);
    const ids = model.tokenizer.encode(p.prompt, { bos: true });
    const out = await generate(model, ids, {
      maxNewTokens,
      temperature: 0,
      lora: opts.lora ?? null,
      signal: opts.signal,
    });
    throwIfAborted(opts.signal);
    gens.push({ id: p.id, lang: p.lang, text: out.text });
    opts.onProgress?.(gens.length, prompts.length);
  }
  return summarizeFidelity(gens);
}

export interface RetentionDelta {
  /** run − base held-out perplexity (positive: the run forgot English) */
  ppl: number | null;
  /** run − base in-language shares */
  ko: number | null;
  en: number | null;
}

const diff = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null ? null : a - b);

/** Before/after deltas (run − base); null where either side lacks the measurement. */
export function retentionDelta(
  base: { perplexity: HeldOutPerplexity | null; fidelity: FidelitySummary | null },
  run: { perplexity: HeldOutPerplexity | null; fidelity: FidelitySummary | null },
): RetentionDelta {
  return {
    ppl: diff(run.perplexity?.ppl, base.perplexity?.ppl),
    ko: diff(run.fidelity?.ko.share, base.fidelity?.ko.share),
    en: diff(run.fidelity?.en.share, base.fidelity?.en.share),
  };
}
