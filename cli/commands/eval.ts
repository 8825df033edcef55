/**
 * `npm run lab -- eval --model M [--adapter A] --tasks LIST [--shots k] [--limit n] [--split s] [--seed s] [--backend b] [--json]`
 * KoBEST and English multiple-choice scoring (methods.md §4/§5) with lm-evaluation-harness conventions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { helpText, intFlag, parseArgs, UsageError, type Spec } from '../args';
import { ADAPTER_FLAG, BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadAdapterArg, loadModelArg, PROJECT_ROOT } from '../node-env';
import type { DataSource } from '../../src/lib/eval/data';
import { DEFAULT_EVAL_SEED, evaluate, type EvalReport } from '../../src/lib/eval/run-eval';
import { ALL_TASKS, parseTaskList, resolveSplit, type SplitName } from '../../src/lib/eval/tasks';

const COMMAND = 'eval';

const SPEC: Spec = {
  model: { ...MODEL_FLAGS.model, default: undefined, required: true },
  tokenizer: MODEL_FLAGS.tokenizer,
  adapter: ADAPTER_FLAG,
  tasks: { type: 'string', help: `comma-separated: ${ALL_TASKS.map((t) => t.name).join(', ')}`, required: true },
  shots: { type: 'number', help: 'k-shot examples from the train split (English tasks without one: the scored split, never the item itself)', default: 0 },
  limit: { type: 'number', help: 'score only the first n items of each task' },
  split: { type: 'string', help: 'split to score (default: KoBEST test, English dev)', choices: ['test', 'dev'] },
  seed: { type: 'number', help: 'seed of the few-shot sampler (recorded in the results)', default: DEFAULT_EVAL_SEED },
  'batch-size': { type: 'number', help: 'sequences per forward pass', default: 16 },
  data: { type: 'string', help: 'data root holding kobest/ and english/ (*.jsonl or *.jsonl.gz)', default: 'public/data' },
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

export async function run(argv: string[]): Promise<number> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    if (argv.includes('--help')) {
      process.stdout.write(`${helpText(COMMAND, 'Scores KoBEST / English multiple-choice tasks (methods.md §4, §5).', SPEC)}\n`);
      return 0;
    }
    const a = parseArgs(argv, SPEC, COMMAND);
    const tasks = parseTaskList(String(a.tasks));
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
    log(`model: ${model.name}${lora ? ` + adapter ${a.adapter}` : ''}; tasks: ${tasks.map((t) => t.name).join(', ')}; shots ${shots}; seed ${seed}`);

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
    log(`${items} items in ${secs.toFixed(1)} s (${(items / secs).toFixed(2)} items/s) on ${backend.name}`);
    if (a.json) process.stdout.write(`${JSON.stringify({ ...report, model: model.name, adapter: a.adapter ?? null, backend: backend.name })}\n`);
    else process.stdout.write(`${formatReport(report)}\n`);
    return 0;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${err instanceof UsageError ? '' : 'eval: '}${msg.split('\n')[0]}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
