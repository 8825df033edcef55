/**
 * `npm run lab -- experiment --recipe NAME|FILE [--steps N] [--out DIR] [--json]` (docs/experiments.md):
 * trains every arm of a recipe and runs its evaluation suite on the base model and on each arm,
 * then writes the report (report.md, summary.csv, tasks.csv, curves.csv, curves.svg, tradeoff.svg,
 * report.json) and each arm's adapter (arms/ID/, PEFT layout; full-rank arms: a merged model) and
 * training rows (arms/ID/train.jsonl) to DIR. Run again with the same --out to resume.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { helpText, intFlag, parseArgs, UsageError, type Spec } from '../args';
import { atomicWriteFiles, checkOutDir, lockOutDir } from '../safe-write';
import { readInputText } from '../input-files';
import { BACKEND_FLAG, HELP_FLAG } from '../common-flags';
import { initNodeBackend, loadModelArg } from '../node-env';
import { fsDataSource } from './eval';
import { peftFileMap, toPeft } from '../../src/lib/formats/peft';
import { folderExperimentStore } from '../experiment-folder-store';
import { parseRecipe, RecipeError, type Recipe } from '../../src/lib/experiment/recipe';
import { BUNDLED_RECIPES, bundledRecipe, recipeAvailability } from '../../src/lib/experiment/recipes';
import { rowsToJsonl } from '../../src/lib/experiment/arm-data';
import { applyOverrides } from '../../src/lib/experiment/overrides';
import { armConfig, runExperiment, type ExperimentState } from '../../src/lib/experiment/runner';
import { trainMemoryAdvice } from '../memory-guard';
import { rankTooHigh } from '../args';
import { buildReport, judgeExperiment, reportRows } from '../../src/lib/experiment/report';
import { verdictSummary } from '../../src/lib/experiment/claims';
import { exportMerged } from '../../src/lib/formats/merged';

const COMMAND = 'experiment';

const SPEC: Spec = {
  recipe: {
    type: 'string',
    help: `a bundled recipe (${BUNDLED_RECIPES.map((r) => r.name).join(', ')}) or a recipe JSON file`,
  },
  list: { type: 'boolean', help: 'list the bundled recipes and whether each can run' },
  steps: { type: 'number', help: 'optimizer steps for every arm (overrides the recipe budget)' },
  'batch-size': { type: 'number', help: 'rows per step for every arm (overrides the recipe budget)' },
  'max-seq-len': { type: 'number', help: 'tokens per sequence (overrides the recipe budget)' },
  arms: { type: 'string', help: 'comma list of arm ids to run (default: all)' },
  'eval-limit': {
    type: 'number',
    help: 'cap every evaluation limit (paragraphs, texts, prompts per language, task items) at n',
  },
  out: { type: 'string', help: 'output folder (default experiments/RECIPE); an unfinished run there resumes' },
  overwrite: {
    type: 'boolean',
    help: 'start afresh in an --out that holds other files or a run of different settings',
  },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', help: 'progress JSON lines on stderr, the summary JSON on stdout' },
  help: HELP_FLAG,
};

function loadRecipe(spec: string): Recipe {
  const b = bundledRecipe(spec);
  if (b) return b;
  if (!existsSync(spec))
    throw new UsageError(
      `${COMMAND}: flag --recipe: "${spec}" is neither a bundled recipe (${BUNDLED_RECIPES.map((r) => r.name).join(', ')}) nor a file`,
    );
  try {
    return parseRecipe(readInputText(COMMAND, 'recipe', spec), spec);
  } catch (e) {
    if (e instanceof RecipeError) throw new UsageError(`${COMMAND}: ${spec}: ${e.message}`);
    throw e;
  }
}

export function summaryText(s: ExperimentState): string {
  const lines = ['model                        English ppl   target bpc   ko fid   en fid   en degenerate'];
  const p = (v: number | null, d: number) => (v == null ? '–' : v.toFixed(d));
  const rows = reportRows(s);
  for (const r of rows) {
    lines.push(
      `${r.label.padEnd(28)} ${p(r.ppl, 2).padStart(11)} ${p(r.bpc, 3).padStart(12)} ${p(r.koFidelity, 2).padStart(8)} ${p(r.enFidelity, 2).padStart(8)} ${p(r.enDegenerate, 2).padStart(15)}`,
    );
  }
  const checks = judgeExperiment(s);
  if (checks.length) lines.push('', `${verdictSummary(checks)}:`);
  for (const c of checks) lines.push(`  ${c.verdict.padEnd(13)} ${c.check.claim} (${c.evidence})`);
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(
      `${helpText(COMMAND, 'Runs a recipe: trains every arm, evaluates the base model and every arm, writes the report (docs/experiments.md).', SPEC)}\n`,
    );
    return 0;
  }
  const a = parseArgs(argv, SPEC, COMMAND);
  if (a.list) {
    for (const r of BUNDLED_RECIPES)
      process.stdout.write(`${r.name.padEnd(16)} ${recipeAvailability(r).padEnd(28)} ${r.title}\n`);
    return 0;
  }
  if (a.recipe === undefined) throw new UsageError(`${COMMAND}: missing required flag --recipe (or --list)`);
  const armsFlag =
    a.arms === undefined
      ? undefined
      : String(a.arms)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  const base = loadRecipe(String(a.recipe));
  for (const id of armsFlag ?? [])
    if (!base.arms.some((x) => x.id === id))
      throw new UsageError(
        `${COMMAND}: flag --arms: unknown arm "${id}" (recipe ${base.name} has ${base.arms.map((x) => x.id).join(', ')})`,
      );
  const recipe = applyOverrides(base, {
    steps: a.steps === undefined ? undefined : intFlag(a, 'steps', COMMAND),
    batchSize: a['batch-size'] === undefined ? undefined : intFlag(a, 'batch-size', COMMAND),
    maxSeqLen: a['max-seq-len'] === undefined ? undefined : intFlag(a, 'max-seq-len', COMMAND, 2),
    arms: armsFlag,
    evalLimit: a['eval-limit'] === undefined ? undefined : intFlag(a, 'eval-limit', COMMAND),
  });
  if (recipe.needs.length > 0)
    throw new UsageError(
      `${COMMAND}: recipe ${recipe.name} ${recipeAvailability(recipe)}, which has not landed in this lab yet`,
    );
  // the output folder is checked before any work: writable, apart from the recipe file, and ours to write
  const outDir = checkOutDir(
    COMMAND,
    'out',
    (a.out as string | undefined) ?? join('experiments', recipe.name),
    [{ flag: 'recipe', path: bundledRecipe(String(a.recipe)) ? null : String(a.recipe) }],
    { overwrite: true, ownFiles: [] },
  );
  const stateFile = join(outDir, '.state', 'state.json');
  if (!a.overwrite && !existsSync(stateFile) && existsSync(outDir) && readdirSync(outDir).length > 0)
    throw new UsageError(
      `${COMMAND}: ${outDir} holds files that are not an experiment run; pass --overwrite to write there anyway, or choose another --out`,
    );
  const unlock = lockOutDir(outDir, COMMAND);
  const store = folderExperimentStore(outDir);
  const id = recipe.name;
  const prev = await store.get<ExperimentState>(id, 'state');
  if (prev && JSON.stringify(prev.recipe) !== JSON.stringify(recipe)) {
    if (!a.overwrite)
      throw new UsageError(
        `${COMMAND}: ${outDir} holds ${prev.status === 'done' ? 'a finished' : 'an unfinished'} run of different settings; pass --overwrite to start afresh there, or choose another --out`,
      );
    await store.del(id, 'state');
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const backend = await initNodeBackend((a.backend as string | undefined) ?? null, log);
  const model = await loadModelArg(recipe.model);
  // every arm passes the checks a `train` run with the same settings passes: rank and memory guard
  for (const arm of recipe.arms) {
    const cfg = armConfig(recipe, arm);
    const rankMsg = rankTooHigh(cfg.lora.r, model.config.dim, model.name);
    if (rankMsg) throw new UsageError(`${COMMAND}: arm ${arm.id}: ${rankMsg}`);
    const memAdvice = trainMemoryAdvice(model, cfg, backend);
    if (memAdvice) throw new UsageError(`${COMMAND}: arm ${arm.id}: ${memAdvice}`);
  }
  const t0 = performance.now();
  let lastLine = 0;
  const state = await runExperiment(recipe, id, {
    model,
    source: fsDataSource('public/data'),
    store,
    backend: backend.name,
    log,
    onProgress: (p) => {
      const now = performance.now();
      if (a.json)
        return log(
          JSON.stringify({
            fraction: p.fraction,
            eta_s: p.etaSeconds,
            phase: p.phase,
            arm: p.arm,
            step: p.step,
            loss: p.metrics?.loss,
          }),
        );
      if (now - lastLine > 3000 || p.phase === 'done') {
        lastLine = now;
        log(
          `[${(100 * p.fraction).toFixed(0).padStart(3)}%${p.etaSeconds === null ? '' : ` ETA ${Math.round(p.etaSeconds)} s`}] ${p.phase}${p.metrics ? ` loss ${p.metrics.loss.toFixed(4)}` : ''}`,
        );
      }
    },
    async onArmTrained(arm, out) {
      // one arm folder, all files complete before any is renamed in; config.json last
      const files = new Map<string, Uint8Array | string>([['train.jsonl', rowsToJsonl(out.rows, arm.objective)]]);
      if (out.model) {
        // an extended vocabulary: the extended model with its trained rows in model/, its LoRA adapter (if any) beside
        for (const [n, b] of await exportMerged(out.model, null)) files.set(`model/${n}`, b);
        if (out.config.lora.targets.length)
          for (const [n, b] of peftFileMap(toPeft(out.lora, out.model.config, out.model.source))) files.set(n, b);
      } else if (out.fullRank) for (const [n, b] of await exportMerged(model, null)) files.set(n, b);
      else for (const [n, b] of peftFileMap(toPeft(out.lora, model.config, model.source))) files.set(n, b);
      files.set('config.json', JSON.stringify(out.config, null, 1));
      atomicWriteFiles(join(outDir, 'arms', arm.id), files, { marker: 'config.json' });
    },
  });
  const files = buildReport(state);
  for (const [name, text] of files) await store.writeFile(id, name, text);
  unlock();
  const seconds = (performance.now() - t0) / 1000;
  log(`experiment ${recipe.name}: ${state.arms.length} arms in ${seconds.toFixed(0)} s; report in ${outDir}`);
  if (a.json)
    process.stdout.write(
      `${JSON.stringify({ recipe: recipe.name, out: outDir, seconds, files: [...files.keys()], rows: reportRows(state), checks: judgeExperiment(state).map((c) => ({ claim: c.check.claim, verdict: c.verdict, evidence: c.evidence })) })}\n`,
    );
  else process.stdout.write(`${summaryText(state)}\n${join(outDir, 'report.md')}\n`);
  return 0;
}
