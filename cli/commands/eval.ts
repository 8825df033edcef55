/**
 * `npm run lab -- eval --model M [--adapter A] [--tasks LIST] [--perplexity] [--fidelity] [--shots k] [--limit n] [--split s] [--seed s] [--backend b] [--json]`
 * KoBEST and English multiple-choice scoring (docs/methods.md §4/§5) with lm-evaluation-harness conventions;
 * --perplexity adds held-out TinyStories perplexity and --fidelity language fidelity (docs/methods.md §5).
 * --tasks may be left out when one of those two is given.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { helpText, intFlag, parseArgs, UsageError, type Spec } from '../args';
import { ADAPTER_FLAG, BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadAdapterArg, loadModelArg, PROJECT_ROOT } from '../node-env';
import type { DataSource } from '../../src/lib/eval/data';
import { evalText } from '../eval-text';
import { DEFAULT_EVAL_SEED, evaluate, type EvalReport } from '../../src/lib/eval/run-eval';
import { ALL_TASKS, parseTaskList, resolveSplit, type SplitName } from '../../src/lib/eval/tasks';
import {
  DEFAULT_FIDELITY_MAX_NEW_TOKENS,
  heldOutPerplexity,
  languageFidelity,
  limitPerLanguage,
  loadFidelityPrompts,
  loadHeldOutParagraphs,
  type FidelitySummary,
  type HeldOutPerplexity,
} from '../../src/lib/eval/retention';

const COMMAND = 'eval';

const SPEC: Spec = {
  model: { ...MODEL_FLAGS.model, default: undefined, required: true },
  tokenizer: MODEL_FLAGS.tokenizer,
  adapter: ADAPTER_FLAG,
  tasks: {
    type: 'string',
    help: `comma-separated: ${ALL_TASKS.map((t) => t.name).join(', ')} (required unless --perplexity or --fidelity)`,
  },
  text: {
    type: 'string',
    help: 'held-out text file (one text per line, or {"text"} / Korean JSON rows): bits and tokens per character (docs/methods.md §9)',
  },
  perplexity: {
    type: 'boolean',
    help: 'add held-out English perplexity on the TinyStories dev paragraphs (--limit: first n paragraphs)',
  },
  fidelity: {
    type: 'boolean',
    help: 'add language fidelity of greedy generations to the ko/en fidelity prompts (--limit: first n per language)',
  },
  'max-new-tokens': {
    type: 'number',
    help: 'tokens generated per fidelity prompt',
    default: DEFAULT_FIDELITY_MAX_NEW_TOKENS,
    int: true,
    min: 1,
    max: 100_000,
  },
  shots: {
    type: 'number',
    help: 'k-shot examples from the train split (English tasks without one: the scored split, never the item itself)',
    default: 0,
    int: true,
    min: 0,
    max: 100,
  },
  limit: { type: 'number', help: 'score only the first n items of each task', int: true, min: 1 },
  split: { type: 'string', help: 'split to score (default: KoBEST test, English dev)', choices: ['test', 'dev'] },
  seed: {
    type: 'number',
    help: 'seed of the few-shot sampler (recorded in the results)',
    default: DEFAULT_EVAL_SEED,
    int: true,
    min: 0,
    max: 4294967295,
  },
  'batch-size': { type: 'number', help: 'sequences per forward pass', default: 16, int: true, min: 1, max: 4096 },
  data: {
    type: 'string',
    help: 'data root holding kobest/ and english/ (*.jsonl or *.jsonl.gz)',
    default: 'public/data',
  },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', help: 'print one JSON document on stdout' },
  help: HELP_FLAG,
};

/** Node data source: `root/rel.gz`, else `root/rel`. */
export function fsDataSource(root: string): DataSource {
  const abs = resolve(PROJECT_ROOT, root);
  return {
    label: root,
    async read(rel: string): Promise<Uint8Array> {
      for (const p of [join(abs, `${rel}.gz`), join(abs, rel)]) {
        if (existsSync(p)) return new Uint8Array(readFileSync(p));
      }
      throw new Error(`file not found (tried ${rel}.gz and ${rel})`);
    },
  };
}

function pct(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '–' : (100 * v).toFixed(1);
}

export function formatReport(report: EvalReport): string {
  const lines = ['task                 split  shots      n    acc  macro_f1  acc_norm'];
  for (const [name, r] of Object.entries(report.results)) {
    lines.push(
      `${name.padEnd(20)} ${r.split.padEnd(5)} ${String(r.shots).padStart(6)} ${String(r.n).padStart(6)} ${pct(r.acc).padStart(6)} ${pct(r.macro_f1).padStart(9)} ${pct(r.acc_norm).padStart(9)}`,
    );
  }
  return lines.join('\n');
}

const share = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);

export function formatRetention(extra: { perplexity?: HeldOutPerplexity; fidelity?: FidelitySummary }): string[] {
  const lines: string[] = [];
  const p = extra.perplexity;
  if (p)
    lines.push(
      `held-out perplexity: ${p.ppl.toFixed(3)} (nll ${p.nll.toFixed(4)} nats/token, ${p.n} paragraphs, ${p.tokens} tokens)`,
    );
  const f = extra.fidelity;
  if (f)
    lines.push(
      `language fidelity: ko prompts ${share(f.ko.share)} of ${f.ko.n}; en prompts ${share(f.en.share)} of ${f.en.n}`,
    );
  return lines;
}

export async function run(argv: string[]): Promise<number> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    if (argv.includes('--help')) {
      process.stdout.write(
        `${helpText(COMMAND, 'Scores KoBEST / English multiple-choice tasks (docs/methods.md §4, §5).', SPEC)}\n`,
      );
      return 0;
    }
    const a = parseArgs(argv, SPEC, COMMAND);
    const wantPpl = !!a.perplexity;
    const wantFid = !!a.fidelity;
    if (a.text !== undefined) return await evalText(a, log);
    if (a.tasks === undefined && !wantPpl && !wantFid)
      throw new UsageError(`${COMMAND}: missing required flag --tasks (or give --perplexity / --fidelity)`);
    const tasks = a.tasks === undefined ? [] : parseTaskList(String(a.tasks));
    const maxNewTokens = intFlag(a, 'max-new-tokens', COMMAND, 1);
    const shots = intFlag(a, 'shots', COMMAND, 0);
    const limit = a.limit === undefined ? null : intFlag(a, 'limit', COMMAND, 1);
    const seed = intFlag(a, 'seed', COMMAND, 0);
    const batchSize = intFlag(a, 'batch-size', COMMAND, 1);
    const split = a.split as SplitName | undefined;
    for (const t of tasks) resolveSplit(t, split); // a bad --split fails before any model work
    const source = fsDataSource(String(a.data));

    const backend = await initNodeBackend((a.backend as string | undefined) ?? null, log);
    const model = await loadModelArg(String(a.model), a.tokenizer as string | undefined);
    const lora = a.adapter ? await loadAdapterArg(String(a.adapter), model) : null;
    const what = [...tasks.map((t) => t.name), ...(wantPpl ? ['perplexity'] : []), ...(wantFid ? ['fidelity'] : [])];
    log(
      `model: ${model.name}${lora ? ` + adapter ${a.adapter}` : ''}; tasks: ${what.join(', ')}; shots ${shots}; seed ${seed}`,
    );
    if (shots > 0)
      log(
        `note: --shots ${shots}: contexts longer than ${model.config.maxSeqLen} tokens are left-truncated (docs/methods.md §4), so the earliest shots may be cut`,
      );

    const t0 = performance.now();
    let lastLine = 0;
    const report = await evaluate(model, tasks, {
      source,
      shots,
      limit,
      split,
      seed,
      lora,
      batchSize,
      onProgress: (p) => {
        const now = performance.now();
        if (p.done === p.total || now - lastLine > 2000) {
          lastLine = now;
          log(`${p.task}: ${p.done}/${p.total}`);
        }
      },
    });
    const secs = (performance.now() - t0) / 1000;
    const items = Object.values(report.results).reduce((s, r) => s + r.n, 0);
    if (tasks.length > 0)
      log(`${items} items in ${secs.toFixed(1)} s (${(items / secs).toFixed(2)} items/s) on ${backend.name}`);

    const extra: { perplexity?: HeldOutPerplexity; fidelity?: FidelitySummary } = {};
    if (wantPpl) {
      const paragraphs = await loadHeldOutParagraphs(source);
      const t1 = performance.now();
      extra.perplexity = await heldOutPerplexity(model, paragraphs, {
        lora,
        limit,
        batchSize,
        onProgress: (d, n) => log(`perplexity: ${d}/${n}`),
      });
      log(
        `perplexity ${extra.perplexity.ppl.toFixed(3)} over ${extra.perplexity.n} paragraphs in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
      );
    }
    if (wantFid) {
      const prompts = limitPerLanguage(await loadFidelityPrompts(source), limit);
      const t1 = performance.now();
      extra.fidelity = await languageFidelity(model, prompts, {
        lora,
        maxNewTokens,
        onProgress: (d, n) => log(`fidelity: ${d}/${n}`),
      });
      log(`fidelity over ${prompts.length} prompts in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    }
    if (a.json)
      process.stdout.write(
        `${JSON.stringify({ ...report, ...extra, model: model.name, adapter: a.adapter ?? null, backend: backend.name })}\n`,
      );
    else
      process.stdout.write(
        `${[...(tasks.length > 0 ? [formatReport(report)] : []), ...formatRetention(extra)].join('\n')}\n`,
      );
    return 0;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${err instanceof UsageError ? '' : 'eval: '}${msg.split('\n')[0]}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
