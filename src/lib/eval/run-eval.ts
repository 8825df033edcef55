/**
 * Runs multiple-choice evaluation tasks (docs/methods.md §4/§5) and returns results in the shape of
 * docs/cli.md's `eval --json`: {results: {TASK: {n, acc, macro_f1, acc_norm?, shots, seed, items}}}.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import type { LoraState } from '../lora/types';
import { scoreSequences, scoreSharedPrefix } from '../model/score';
import { loadTaskDocs, type DataSource, type LoadedDoc } from './data';
import { planFewshot } from './fewshot';
import { accuracy, argmax, argmaxNormalized, macroF1 } from './metrics';
import { buildChoiceRequests, type ScoreItem } from './requests';
import { resolveSplit, type EvalTask, type SplitName } from './tasks';
import { isAbortError, yieldForCancel } from './abort';

export interface ItemResult {
  gold: number;
  pred: number;
  /** one log-likelihood per choice, in choice order */
  loglik: number[];
  /** acc_norm prediction (hellaswag tasks) */
  pred_norm?: number;
  /** 1-based line in the data file */
  line: number;
  /** with includeText: the test context (without shots) and the choices */
  context?: string;
  choices?: string[];
  /** pool indices (0-based rows of the shot split) of this item's shots */
  shots?: number[];
}

export interface TaskResult {
  n: number;
  acc: number;
  macro_f1: number;
  acc_norm?: number;
  shots: number;
  seed: number;
  split: SplitName;
  fewshot_split?: SplitName;
  items: ItemResult[];
}

export interface EvalReport {
  results: Record<string, TaskResult>;
  /** set when the evaluation was cancelled (keepOnAbort): `results` holds the tasks finished before */
  cancelled?: { task: string; done: number; total: number; skipped: string[] };
}

export interface EvalProgress {
  task: string;
  taskIndex: number;
  taskCount: number;
  /** items of this task done / total */
  done: number;
  total: number;
}

export interface EvalOptions {
  /** where the task files come from */
  source: DataSource;
  shots?: number;
  /** score only the first n items of each task */
  limit?: number | null;
  /** the split to score (default: each task's default; KoBEST test, English dev) */
  split?: SplitName;
  seed?: number;
  lora?: LoraState | null;
  /** sequences per forward inside scoreSequences */
  batchSize?: number;
  /** false: score every choice as a full sequence, batched across items (no shared-prefix KV cache).
   *  Default: shared prefixes on wasm/cpu, batched full sequences on webgpu/webgl. */
  sharePrefix?: boolean;
  /** items whose choices are sent to scoreSequences together (all choices of an item always are) */
  itemsPerCall?: number;
  includeText?: boolean;
  onProgress?: (p: EvalProgress) => void;
  /** checked before each item; a worker also yields to its message queue there, so a cancel arrives */
  signal?: AbortSignal;
  /** on abort, resolve with the tasks finished so far (report.cancelled set) instead of rejecting */
  keepOnAbort?: boolean;
}

export const DEFAULT_EVAL_SEED = 1234;

async function prepareContexts(
  task: EvalTask,
  split: SplitName,
  docs: LoadedDoc[],
  allDocs: LoadedDoc[],
  opts: EvalOptions,
) {
  const k = opts.shots ?? 0;
  const seed = opts.seed ?? DEFAULT_EVAL_SEED;
  if (k === 0) return { plan: planFewshot(docs, [], 0, seed), poolSplit: undefined };
  const poolSplit = task.fewshotSplit[split];
  if (!poolSplit) throw new Error(`--shots ${k}: task ${task.name} has no few-shot split for "${split}"`);
  const samePool = poolSplit === split;
  const pool = samePool ? allDocs : await loadTaskDocs(task, poolSplit, opts.source);
  // the scored docs are the first rows of the split, so item i is pool row i when the pool is the same split
  const own = samePool ? docs.map((_, i) => i) : null;
  return { plan: planFewshot(docs, pool, k, seed, own), poolSplit };
}

export async function evaluateTask(
  model: LoadedModel,
  task: EvalTask,
  opts: EvalOptions,
  report?: (done: number, total: number) => void,
): Promise<TaskResult> {
  const split = resolveSplit(task, opts.split);
  const allDocs = await loadTaskDocs(task, split, opts.source);
  const limit = opts.limit ?? null;
  const docs = limit !== null && limit >= 0 ? allDocs.slice(0, limit) : allDocs;
  const { plan, poolSplit } = await prepareContexts(task, split, docs, allDocs, opts);
  // The harness keeps maxSeqLen + 1 tokens (the last one is only a target). scoreSequences feeds all
  // of them to the forward pass, which RoPE models take; a learned-position model has no embedding
  // for position maxSeqLen, so it keeps one token less.
  const maxSeqLen = model.config.position === 'learned' ? model.config.maxSeqLen - 1 : model.config.maxSeqLen;
  const perCall = Math.max(1, opts.itemsPerCall ?? 8);
  const items: ItemResult[] = [];
  report?.(0, docs.length);
  for (let s = 0; s < docs.length; s += perCall) {
    await yieldForCancel(opts.signal);
    const group = docs.slice(s, s + perCall);
    const requests: ScoreItem[] = [];
    group.forEach((doc, j) => {
      try {
        requests.push(...buildChoiceRequests(model.tokenizer, plan.contexts[s + j], doc.choices, maxSeqLen));
      } catch (err) {
        throw new Error(`${task.name} line ${doc.line}: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
    });
    let scores;
    // GPU backends compile shaders per tensor shape: there the length-bucketed batches of
    // scoreSequences reuse shapes, while per-item prefixes would each bring new ones.
    const share = opts.sharePrefix ?? !['webgpu', 'webgl'].includes(tf.getBackend());
    if (!share) scores = await scoreSequences(model, requests, { lora: opts.lora ?? null, batchSize: opts.batchSize });
    else {
      // The choices of one item share its context: run that prefix once (KV cache), then all choices together.
      scores = [];
      let q = 0;
      for (const [j, doc] of group.entries()) {
        if (j > 0) await yieldForCancel(opts.signal);
        scores.push(
          ...(await scoreSharedPrefix(model, requests.slice(q, q + doc.choices.length), { lora: opts.lora ?? null })),
        );
        q += doc.choices.length;
      }
    }
    let r = 0;
    group.forEach((doc, j) => {
      const loglik = doc.choices.map(() => scores[r++].sum);
      const item: ItemResult = { gold: doc.gold, pred: argmax(loglik), loglik, line: doc.line };
      if (task.accNorm) item.pred_norm = argmaxNormalized(loglik, doc.choices);
      if (plan.k > 0) item.shots = plan.shotIndices[s + j];
      if (opts.includeText) {
        item.context = doc.context;
        item.choices = doc.choices;
      }
      items.push(item);
    });
    report?.(items.length, docs.length);
  }
  const golds = items.map((i) => i.gold);
  const preds = items.map((i) => i.pred);
  const result: TaskResult = {
    n: items.length,
    acc: accuracy(golds, preds),
    macro_f1: macroF1(golds, preds),
    shots: plan.k,
    seed: plan.seed,
    split,
    items,
  };
  if (task.accNorm)
    result.acc_norm = accuracy(
      golds,
      items.map((i) => i.pred_norm as number),
    );
  if (poolSplit) result.fewshot_split = poolSplit;
  return result;
}

/**
 * Evaluates `tasks` in order; cancellable through `opts.signal` (rejects with an AbortError, or with
 * `keepOnAbort` resolves to the tasks finished before the cancel, when there is one).
 */
export async function evaluate(model: LoadedModel, tasks: EvalTask[], opts: EvalOptions): Promise<EvalReport> {
  const results: Record<string, TaskResult> = {};
  for (let t = 0; t < tasks.length; t++) {
    const task = tasks[t];
    let at = { done: 0, total: 0 };
    try {
      results[task.name] = await evaluateTask(model, task, opts, (done, total) => {
        at = { done, total };
        opts.onProgress?.({ task: task.name, taskIndex: t, taskCount: tasks.length, done, total });
      });
    } catch (err) {
      if (!opts.keepOnAbort || !isAbortError(err) || t === 0) throw err;
      const skipped = tasks.slice(t + 1).map((x) => x.name);
      return { results, cancelled: { task: task.name, ...at, skipped } };
    }
  }
  return { results };
}
