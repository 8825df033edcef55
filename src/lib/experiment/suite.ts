/**
 * The evaluation suite of a recipe (docs/experiments.md), run on the base model and on every arm
 * with the same library functions the `eval` command uses, so the numbers are the same:
 * held-out English perplexity, held-out target-language bits/char, language fidelity of greedy
 * answers (with repetition beside it), and multiple-choice tasks at each k.
 */
import type { LoadedModel } from '../model/model';
import type { LoraState } from '../lora/types';
import type { DataSource } from '../eval/data';
import { decodeDataBytes } from '../eval/data';
import { parseRecords } from '../data/parse';
import { DEFAULT_EVAL_SEED, evaluate } from '../eval/run-eval';
import { taskByName, type EvalTask } from '../eval/tasks';
import { bitsPerChar, type BitsPerCharResult } from '../eval/bits-per-char';
import {
  heldOutPerplexity,
  languageFidelity,
  limitPerLanguage,
  loadFidelityPrompts,
  loadHeldOutParagraphs,
  type FidelityPrompt,
  type HeldOutPerplexity,
  type LangShare,
} from '../eval/retention';
import { repetition, summarizeRepetition, type Repetition, type RepetitionSummary } from '../eval/repetition';
import type { ScriptLang } from '../eval/fidelity';
import type { EvalSuite } from './recipe';

/** The `eval` command's default scoring batch (cli/commands/eval.ts --batch-size). */
export const SUITE_BATCH_SIZE = 16;

export interface TaskScore {
  n: number;
  acc: number;
  macro_f1: number;
  acc_norm?: number;
}

export interface SuiteResult {
  perplexity?: HeldOutPerplexity;
  bitsPerChar?: BitsPerCharResult;
  fidelity?: {
    ko: LangShare & { repetition: RepetitionSummary };
    en: LangShare & { repetition: RepetitionSummary };
    items: {
      id: string;
      lang: ScriptLang;
      prompt: string;
      text: string;
      inLanguage: boolean;
      repetition: Repetition;
    }[];
  };
  /** key `${task}@${k}` */
  tasks?: Record<string, TaskScore>;
  seconds: number;
}

/** Inputs read once per experiment. */
export interface SuiteData {
  paragraphs?: string[];
  targetTexts?: string[];
  prompts?: FidelityPrompt[];
  tasks?: EvalTask[];
}

export async function loadSuiteData(suite: EvalSuite, source: DataSource): Promise<SuiteData> {
  const d: SuiteData = {};
  if (suite.perplexity) d.paragraphs = await loadHeldOutParagraphs(source);
  if (suite.bitsPerChar) {
    const { file, field, limit } = suite.bitsPerChar;
    const raw = parseRecords(decodeDataBytes(await source.read(file)), file);
    const texts: string[] = [];
    for (const r of raw.records) {
      const v = (r.value as Record<string, unknown> | null)?.[field];
      if (typeof v === 'string' && v.trim() !== '') texts.push(v);
      if (texts.length >= limit) break;
    }
    if (texts.length === 0)
      throw new Error(`suite.bitsPerChar: ${source.label}/${file} has no rows with a text field "${field}"`);
    d.targetTexts = texts;
  }
  if (suite.fidelity) d.prompts = limitPerLanguage(await loadFidelityPrompts(source), suite.fidelity.limit);
  if (suite.tasks) d.tasks = suite.tasks.names.map((n) => taskByName(n) as EvalTask);
  return d;
}

export interface SuiteProgress {
  what: string;
  done: number;
  total: number;
}

export async function runSuite(
  model: LoadedModel,
  lora: LoraState | null,
  suite: EvalSuite,
  data: SuiteData,
  source: DataSource,
  opts: { signal?: AbortSignal; onProgress?: (p: SuiteProgress) => void } = {},
): Promise<SuiteResult> {
  const t0 = Date.now();
  const out: SuiteResult = { seconds: 0 };
  const prog = (what: string) => (done: number, total: number) => opts.onProgress?.({ what, done, total });
  if (suite.perplexity && data.paragraphs) {
    out.perplexity = await heldOutPerplexity(model, data.paragraphs, {
      lora,
      limit: suite.perplexity.limit,
      batchSize: SUITE_BATCH_SIZE,
      signal: opts.signal,
      onProgress: prog('perplexity'),
    });
  }
  if (suite.bitsPerChar && data.targetTexts) {
    out.bitsPerChar = await bitsPerChar(model, data.targetTexts, {
      lora,
      batchSize: SUITE_BATCH_SIZE,
      signal: opts.signal,
      onProgress: prog('bits/char'),
    });
  }
  if (suite.fidelity && data.prompts) {
    const f = await languageFidelity(model, data.prompts, {
      lora,
      maxNewTokens: suite.fidelity.maxNewTokens,
      signal: opts.signal,
      onProgress: prog('fidelity'),
    });
    const byId = new Map(data.prompts.map((p) => [p.id, p.prompt]));
    const items = f.items.map((i) => ({ ...i, prompt: byId.get(i.id) ?? '', repetition: repetition(i.text) }));
    const rep = (lang: ScriptLang) => summarizeRepetition(items.filter((i) => i.lang === lang).map((i) => i.text));
    out.fidelity = { ko: { ...f.ko, repetition: rep('ko') }, en: { ...f.en, repetition: rep('en') }, items };
  }
  if (suite.tasks && data.tasks) {
    out.tasks = {};
    for (const k of suite.tasks.shots) {
      const r = await evaluate(model, data.tasks, {
        source,
        shots: k,
        limit: suite.tasks.limit,
        seed: DEFAULT_EVAL_SEED,
        lora,
        batchSize: SUITE_BATCH_SIZE,
        signal: opts.signal,
        onProgress: (p) => opts.onProgress?.({ what: `${p.task} ${k}-shot`, done: p.done, total: p.total }),
      });
      for (const [name, t] of Object.entries(r.results)) {
        out.tasks[`${name}@${k}`] = {
          n: t.n,
          acc: t.acc,
          macro_f1: t.macro_f1,
          ...(t.acc_norm !== undefined ? { acc_norm: t.acc_norm } : {}),
        };
      }
    }
  }
  out.seconds = (Date.now() - t0) / 1000;
  return out;
}
