/**
 * Experiment recipes (docs/experiments.md): a small JSON document naming the arms to train, the
 * shared training budget, and the evaluation suite run on the base model and on every arm.
 * validateRecipe() turns untrusted JSON into a Recipe or throws a RecipeError naming the field.
 */
import type { TrainObjectiveName } from '../train/types';
import { INIT_METHODS, type InitMethod } from '../vocab/init';
import { TRAIN_DEFAULTS } from '../train/defaults';
import { LINEAR_NAMES, type LinearName } from '../model/weights';
import { taskByName } from '../eval/tasks';
import { EMBEDDED_NAME } from '../formats/model-spec';
import { CHECK_METRICS, CHECK_OPS, type Check, type CheckMetric, type CheckOp } from './claims';

/** How an arm reads its data file (paired en/target rows, or plain SFT rows). */
export type DataUse =
  /** the file's rows as they are (CLO quadruples for CLO; SFT rows for SFT) */
  | 'as-is'
  /** SFT on the target-language side of paired rows */
  | 'target'
  /** SFT on the English side of paired rows */
  | 'english'
  /** SFT on both sides of paired rows (target row, then English row) */
  | 'both'
  /** preference rows from pairs: target prompt, chosen = target answer, rejected = English answer */
  | 'preference-target';

export const DATA_USES: DataUse[] = ['as-is', 'target', 'english', 'both', 'preference-target'];

export interface ArmData {
  /** path relative to the data root (public/data), e.g. instructions/paired_alpaca_koalpaca_en_ko.jsonl */
  file: string;
  use: DataUse;
  /** the first N usable rows of the file (all when absent) */
  rows?: number;
}

export interface ArmTrain {
  lr?: number;
  /** peak learning rate of the new token rows (arms that extend or start from an extended arm); default lr */
  rowsLr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  clipNorm?: number;
  beta?: number;
  lambda?: number;
  lora?: { r?: number; alpha?: number; dropout?: number; targets?: LinearName[] };
  /** train these modules at full rank instead of with LoRA (everything else frozen) */
  fullRank?: LinearName[];
}

/**
 * An arm that first extends the vocabulary (docs/methods.md §8): `add` tokens learned from the
 * bundled Korean corpus, their rows initialised with `init`, then trained with the arm's objective
 * (the new rows always; LoRA too unless `rowsOnly`).
 */
export interface ArmVocab {
  add: number;
  init: InitMethod;
  rowsOnly: boolean;
}

export interface Arm {
  id: string;
  label: string;
  objective: TrainObjectiveName;
  data: ArmData;
  train?: ArmTrain;
  vocab?: ArmVocab;
  /** an earlier arm whose end (its model, trained rows and merged LoRA) this arm starts from */
  from?: string;
  /** only when the recipe's budget is not matched */
  steps?: number;
  batchSize?: number;
}

export interface Budget {
  steps: number;
  batchSize: number;
  gradAccum: number;
  maxSeqLen: number;
  lr: number;
  seed: number;
  /** true (default): every arm gets the same steps, batch size and gradient accumulation */
  matched: boolean;
}

export interface EvalSuite {
  /** held-out English perplexity over the first `limit` TinyStories dev paragraphs */
  perplexity?: { limit: number };
  /** held-out target-language bits/char: `field` of the first `limit` rows of `file` (not used in training) */
  bitsPerChar?: { file: string; field: string; limit: number };
  /** greedy answers to the first `limit` fidelity prompts per language, with a repetition measure */
  fidelity?: { limit: number; maxNewTokens: number };
  /** KoBEST / English multiple-choice tasks at each k in `shots` */
  tasks?: { names: string[]; shots: number[]; limit: number };
  /** answers of two arms to the same prompts, for a person to judge (win-rate table) */
  winRate?: { pairs: [string, string][]; limit: number };
}

export interface Recipe {
  name: string;
  title: string;
  /** the claim the recipe tests, in one sentence */
  claim: string;
  /** where the claim comes from */
  source: string;
  /** steps the lab lacks today (e.g. 'vocabulary'); such a recipe validates but does not run */
  needs: string[];
  model: string;
  budget: Budget;
  arms: Arm[];
  suite: EvalSuite;
  /** the claim broken into comparisons the report decides from its numbers */
  checks: Check[];
  /** report sections to draw, in order */
  report: ReportSection[];
}

export type ReportSection =
  'summary' | 'tasks-table2' | 'winrate-table1' | 'curves' | 'tradeoff' | 'samples' | 'settings';
export const REPORT_SECTIONS: ReportSection[] = [
  'summary',
  'tasks-table2',
  'winrate-table1',
  'curves',
  'tradeoff',
  'samples',
  'settings',
];

const OBJECTIVES: TrainObjectiveName[] = ['sft', 'dpo', 'orpo', 'clo', 'pt'];
/** which row kind each objective trains on, and which data uses yield it */
const USES_FOR: Record<TrainObjectiveName, DataUse[]> = {
  sft: ['as-is', 'target', 'english', 'both'],
  // continued pretraining reads a row's prompt + response as one text
  pt: ['as-is', 'target', 'english', 'both'],
  dpo: ['as-is', 'preference-target'],
  orpo: ['as-is', 'preference-target'],
  clo: ['as-is'],
};

export class RecipeError extends Error {
  override name = 'RecipeError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`recipe field "${field}": ${message}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: unknown, field: string): Obj {
  if (!isObj(v)) throw new RecipeError(field, 'must be an object');
  return v;
}
function str(o: Obj, key: string, field: string, def?: string): string {
  const v = o[key];
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== 'string' || v.trim() === '')
    throw new RecipeError(
      `${field}${key}`,
      v === undefined ? 'is required (a non-empty string)' : 'must be a non-empty string',
    );
  return v;
}
function num(
  o: Obj,
  key: string,
  field: string,
  opts: { def?: number; int?: boolean; min?: number; max?: number; gt?: number } = {},
): number {
  const v = o[key];
  if (v === undefined && opts.def !== undefined) return opts.def;
  const f = `${field}${key}`;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new RecipeError(
      f,
      v === undefined ? 'is required (a number)' : `must be a number (got ${JSON.stringify(v)})`,
    );
  if (opts.int && !Number.isInteger(v)) throw new RecipeError(f, `must be a whole number (got ${v})`);
  if (opts.min !== undefined && v < opts.min) throw new RecipeError(f, `must be at least ${opts.min} (got ${v})`);
  if (opts.gt !== undefined && !(v > opts.gt)) throw new RecipeError(f, `must be more than ${opts.gt} (got ${v})`);
  if (opts.max !== undefined && v > opts.max) throw new RecipeError(f, `must be at most ${opts.max} (got ${v})`);
  return v;
}
/** The ranges of the `train` flags (cli/commands/train.ts), so a recipe accepts what the flags accept. */
export const RANGES = {
  steps: { int: true, min: 1, max: 10_000_000 },
  batchSize: { int: true, min: 1, max: 100_000 },
  gradAccum: { int: true, min: 1, max: 100_000 },
  maxSeqLen: { int: true, min: 2, max: 1_048_576 },
  seed: { int: true, min: 0, max: 4294967295 },
  lr: { gt: 0, max: 1 },
  weightDecay: { min: 0, max: 1 },
  clipNorm: { gt: 0, max: 1e6 },
  beta: { gt: 0, max: 1000 },
  lambda: { gt: 0, max: 1000 },
  r: { int: true, min: 1, max: 4096 },
  alpha: { gt: 0, max: 1e6 },
} as const;

/**
 * A data file named by a recipe: a path inside the bundled data (public/data), relative, without `..`,
 * so a recipe file from elsewhere cannot read files outside it.
 */
function dataFile(o: Obj, key: string, field: string): string {
  const v = str(o, key, field);
  if (v.startsWith('/') || v.includes('\\') || /^[a-z]:/i.test(v) || v.split('/').some((s) => s === '..' || s === ''))
    throw new RecipeError(
      `${field}${key}`,
      `must be a path inside the bundled data (public/data), without .. (got ${JSON.stringify(v)})`,
    );
  return v;
}

function optNum(
  o: Obj,
  key: string,
  field: string,
  opts: { int?: boolean; min?: number; max?: number; gt?: number } = {},
): number | undefined {
  return o[key] === undefined ? undefined : num(o, key, field, opts);
}
function targets(v: unknown, field: string): LinearName[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new RecipeError(field, `must be a non-empty list of module names (${LINEAR_NAMES.join(', ')})`);
  return v.map((t, i) => {
    if (!LINEAR_NAMES.includes(t as LinearName))
      throw new RecipeError(
        `${field}[${i}]`,
        `unknown module ${JSON.stringify(t)} (expected one of ${LINEAR_NAMES.join(', ')})`,
      );
    return t as LinearName;
  });
}
function noExtra(o: Obj, allowed: string[], field: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      throw new RecipeError(`${field}${k}`, `unknown field (allowed here: ${allowed.join(', ')})`);
}

function validateTrain(v: unknown, f: string): ArmTrain {
  const o = obj(v, f.slice(0, -1));
  noExtra(o, ['lr', 'rowsLr', 'warmupSteps', 'weightDecay', 'clipNorm', 'beta', 'lambda', 'lora', 'fullRank'], f);
  const t: ArmTrain = {};
  for (const k of ['lr', 'rowsLr', 'weightDecay', 'clipNorm', 'beta', 'lambda'] as const) {
    const n = optNum(o, k, f, RANGES[k === 'rowsLr' ? 'lr' : k]);
    if (n !== undefined) t[k] = n;
  }
  const w = optNum(o, 'warmupSteps', f, { int: true, min: 0, max: RANGES.steps.max });
  if (w !== undefined) t.warmupSteps = w;
  if (o.lora !== undefined) {
    const lf = `${f}lora.`;
    const l = obj(o.lora, `${f}lora`);
    noExtra(l, ['r', 'alpha', 'dropout', 'targets'], lf);
    t.lora = {};
    const r = optNum(l, 'r', lf, RANGES.r);
    if (r !== undefined) t.lora.r = r;
    const a = optNum(l, 'alpha', lf, RANGES.alpha);
    if (a !== undefined) t.lora.alpha = a;
    const d = optNum(l, 'dropout', lf, { min: 0, max: 0.99 });
    if (d !== undefined) t.lora.dropout = d;
    if (l.targets !== undefined) t.lora.targets = targets(l.targets, `${lf}targets`);
  }
  if (o.fullRank !== undefined) t.fullRank = targets(o.fullRank, `${f}fullRank`);
  return t;
}

function validateArm(v: unknown, i: number, matched: boolean): Arm {
  const f = `arms[${i}].`;
  const o = obj(v, `arms[${i}]`);
  noExtra(o, ['id', 'label', 'objective', 'data', 'train', 'vocab', 'from', 'steps', 'batchSize'], f);
  const id = str(o, 'id', f);
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(id))
    throw new RecipeError(`${f}id`, `must be letters, digits, - or _ (got ${JSON.stringify(id)})`);
  const objective = str(o, 'objective', f) as TrainObjectiveName;
  if (!OBJECTIVES.includes(objective))
    throw new RecipeError(
      `${f}objective`,
      `must be one of ${OBJECTIVES.join(', ')} (got ${JSON.stringify(objective)})`,
    );
  const df = `${f}data.`;
  const d = obj(o.data, `${f}data`);
  noExtra(d, ['file', 'use', 'rows'], df);
  const use = str(d, 'use', df, 'as-is') as DataUse;
  if (!DATA_USES.includes(use))
    throw new RecipeError(`${df}use`, `must be one of ${DATA_USES.join(', ')} (got ${JSON.stringify(use)})`);
  if (!USES_FOR[objective].includes(use))
    throw new RecipeError(
      `${df}use`,
      `"${use}" gives no rows ${objective.toUpperCase()} can train on (use one of ${USES_FOR[objective].join(', ')})`,
    );
  const data: ArmData = { file: dataFile(d, 'file', df), use };
  const rows = optNum(d, 'rows', df, { int: true, min: 1 });
  if (rows !== undefined) data.rows = rows;
  const arm: Arm = { id, label: str(o, 'label', f, id), objective, data };
  if (o.train !== undefined) arm.train = validateTrain(o.train, `${f}train.`);
  if (o.from !== undefined) arm.from = str(o, 'from', f);
  if (o.vocab !== undefined) {
    const vf = `${f}vocab.`;
    const v = obj(o.vocab, `${f}vocab`);
    noExtra(v, ['add', 'init', 'rowsOnly'], vf);
    const init = str(v, 'init', vf, 'salt') as InitMethod;
    if (!INIT_METHODS.includes(init))
      throw new RecipeError(`${vf}init`, `must be one of ${INIT_METHODS.join(', ')} (got ${JSON.stringify(init)})`);
    if (v.rowsOnly !== undefined && typeof v.rowsOnly !== 'boolean')
      throw new RecipeError(`${vf}rowsOnly`, 'must be true or false');
    if (arm.train?.fullRank) throw new RecipeError(`${f}vocab`, 'cannot be combined with train.fullRank');
    arm.vocab = { add: num(v, 'add', vf, { int: true, min: 1, max: 65536 }), init, rowsOnly: v.rowsOnly === true };
  }
  for (const k of ['steps', 'batchSize'] as const) {
    if (o[k] === undefined) continue;
    if (matched)
      throw new RecipeError(
        `${f}${k}`,
        "cannot differ per arm while budget.matched is true (every arm gets the budget's steps and batch size)",
      );
    arm[k] = num(o, k, f, RANGES[k]);
  }
  return arm;
}

function validateEval(v: unknown, armIds: string[]): EvalSuite {
  const o = obj(v, 'suite');
  noExtra(o, ['perplexity', 'bitsPerChar', 'fidelity', 'tasks', 'winRate'], 'suite.');
  const e: EvalSuite = {};
  if (o.perplexity !== undefined) {
    const p = obj(o.perplexity, 'suite.perplexity');
    noExtra(p, ['limit'], 'suite.perplexity.');
    e.perplexity = { limit: num(p, 'limit', 'suite.perplexity.', { int: true, min: 1, def: 100 }) };
  }
  if (o.bitsPerChar !== undefined) {
    const p = obj(o.bitsPerChar, 'suite.bitsPerChar');
    noExtra(p, ['file', 'field', 'limit'], 'suite.bitsPerChar.');
    e.bitsPerChar = {
      file: dataFile(p, 'file', 'suite.bitsPerChar.'),
      field: str(p, 'field', 'suite.bitsPerChar.'),
      limit: num(p, 'limit', 'suite.bitsPerChar.', { int: true, min: 1, def: 100 }),
    };
  }
  if (o.fidelity !== undefined) {
    const p = obj(o.fidelity, 'suite.fidelity');
    noExtra(p, ['limit', 'maxNewTokens'], 'suite.fidelity.');
    e.fidelity = {
      limit: num(p, 'limit', 'suite.fidelity.', { int: true, min: 1, def: 8 }),
      maxNewTokens: num(p, 'maxNewTokens', 'suite.fidelity.', { int: true, min: 1, max: 512, def: 48 }),
    };
  }
  if (o.tasks !== undefined) {
    const p = obj(o.tasks, 'suite.tasks');
    noExtra(p, ['names', 'shots', 'limit'], 'suite.tasks.');
    if (!Array.isArray(p.names) || p.names.length === 0)
      throw new RecipeError('suite.tasks.names', 'must be a non-empty list of task names (e.g. kobest_copa)');
    const names = p.names.map((n, i) => {
      if (typeof n !== 'string' || !taskByName(n))
        throw new RecipeError(`suite.tasks.names[${i}]`, `unknown task ${JSON.stringify(n)}`);
      return n;
    });
    const shotsRaw = p.shots === undefined ? [0] : p.shots;
    if (!Array.isArray(shotsRaw) || shotsRaw.length === 0)
      throw new RecipeError('suite.tasks.shots', 'must be a non-empty list of whole numbers, e.g. [0, 5]');
    const shots = shotsRaw.map((k, i) => {
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > 32)
        throw new RecipeError(
          `suite.tasks.shots[${i}]`,
          `must be a whole number from 0 to 32 (got ${JSON.stringify(k)})`,
        );
      return k;
    });
    e.tasks = { names, shots, limit: num(p, 'limit', 'suite.tasks.', { int: true, min: 1, def: 100 }) };
  }
  if (o.winRate !== undefined) {
    const p = obj(o.winRate, 'suite.winRate');
    noExtra(p, ['pairs', 'limit'], 'suite.winRate.');
    if (!Array.isArray(p.pairs) || p.pairs.length === 0)
      throw new RecipeError('suite.winRate.pairs', 'must be a non-empty list of [armId, armId] pairs');
    const pairs = p.pairs.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new RecipeError(`suite.winRate.pairs[${i}]`, 'must be a pair [armId, armId]');
      for (const id of pair)
        if (id !== 'base' && !armIds.includes(id as string))
          throw new RecipeError(
            `suite.winRate.pairs[${i}]`,
            `unknown arm ${JSON.stringify(id)} (arms: base, ${armIds.join(', ')})`,
          );
      return [pair[0], pair[1]] as [string, string];
    });
    e.winRate = { pairs, limit: num(p, 'limit', 'suite.winRate.', { int: true, min: 1, def: 8 }) };
  }
  return e;
}

function validateChecks(v: unknown, ids: string[]): Check[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new RecipeError('checks', 'must be a list of checks');
  return v.map((c, i) => {
    const at = `checks[${i}].`;
    const o = obj(c, `checks[${i}]`);
    noExtra(o, ['claim', 'arm', 'metric', 'op', 'than', 'factor'], at);
    for (const k of ['arm', 'than'] as const)
      if (!ids.includes(o[k] as string))
        throw new RecipeError(`${at}${k}`, `unknown arm ${JSON.stringify(o[k])} (arms: ${ids.join(', ')})`);
    const metric = o.metric;
    if (
      typeof metric !== 'string' ||
      !(metric in CHECK_METRICS ? metric !== 'tasks' : /^tasks@([0-9]|[12][0-9]|3[0-2])$/.test(metric))
    )
      throw new RecipeError(
        `${at}metric`,
        `must be one of ${Object.keys(CHECK_METRICS)
          .filter((m) => m !== 'tasks')
          .join(', ')} or tasks@k (got ${JSON.stringify(metric)})`,
      );
    if (!CHECK_OPS.includes(o.op as CheckOp))
      throw new RecipeError(`${at}op`, `must be one of ${CHECK_OPS.join(' ')} (got ${JSON.stringify(o.op)})`);
    return {
      claim: str(o, 'claim', at),
      arm: o.arm as string,
      metric: metric as CheckMetric,
      op: o.op as CheckOp,
      than: o.than as string,
      factor: num(o, 'factor', at, { min: 1e-6, max: 1e6, def: 1 }),
    };
  });
}

/** Validates untrusted JSON (a parsed recipe file); throws RecipeError naming the first bad field. */
export function validateRecipe(v: unknown): Recipe {
  const o = obj(v, '(root)');
  noExtra(o, ['name', 'title', 'claim', 'source', 'needs', 'model', 'budget', 'arms', 'suite', 'checks', 'report'], '');
  const name = str(o, 'name', '');
  // the name is the default output folder experiments/NAME: one plain folder name
  if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(name) || name.includes('..'))
    throw new RecipeError('name', `must be letters, digits, ., - or _ (got ${JSON.stringify(name)})`);
  const b = obj(o.budget, 'budget');
  noExtra(b, ['steps', 'batchSize', 'gradAccum', 'maxSeqLen', 'lr', 'seed', 'matched'], 'budget.');
  if (b.matched !== undefined && typeof b.matched !== 'boolean')
    throw new RecipeError('budget.matched', 'must be true or false');
  const budget: Budget = {
    steps: num(b, 'steps', 'budget.', RANGES.steps),
    batchSize: num(b, 'batchSize', 'budget.', RANGES.batchSize),
    // defaults: the engine's (train/defaults.ts), written once there
    gradAccum: num(b, 'gradAccum', 'budget.', { ...RANGES.gradAccum, def: TRAIN_DEFAULTS.gradAccum }),
    maxSeqLen: num(b, 'maxSeqLen', 'budget.', { ...RANGES.maxSeqLen, def: TRAIN_DEFAULTS.maxSeqLen }),
    lr: num(b, 'lr', 'budget.', { ...RANGES.lr, def: TRAIN_DEFAULTS.lr }),
    seed: num(b, 'seed', 'budget.', { ...RANGES.seed, def: TRAIN_DEFAULTS.seed }),
    matched: b.matched === undefined ? true : (b.matched as boolean),
  };
  if (!Array.isArray(o.arms) || o.arms.length === 0) throw new RecipeError('arms', 'must be a non-empty list of arms');
  const arms = o.arms.map((a, i) => validateArm(a, i, budget.matched));
  arms.forEach((a, i) => {
    if (a.from === undefined) return;
    const src = arms.slice(0, i).find((b) => b.id === a.from);
    if (!src)
      throw new RecipeError(
        `arms[${i}].from`,
        `must name an earlier arm (${arms
          .slice(0, i)
          .map((b) => b.id)
          .join(', ')}) (got ${JSON.stringify(a.from)})`,
      );
    if (a.vocab) throw new RecipeError(`arms[${i}].vocab`, 'an arm with "from" keeps the vocabulary it starts from');
    if (src.train?.fullRank || a.train?.fullRank)
      throw new RecipeError(`arms[${i}].from`, 'full-rank arms cannot be chained (only LoRA and new rows carry over)');
  });
  const seen = new Set<string>(['base']);
  arms.forEach((a, i) => {
    if (seen.has(a.id))
      throw new RecipeError(`arms[${i}].id`, `"${a.id}" is used twice (or is the reserved id "base")`);
    seen.add(a.id);
  });
  let needs: string[] = [];
  if (o.needs !== undefined) {
    if (!Array.isArray(o.needs) || o.needs.some((n) => typeof n !== 'string'))
      throw new RecipeError('needs', 'must be a list of strings');
    needs = o.needs as string[];
  }
  let report: ReportSection[] = ['summary', 'curves', 'tradeoff', 'samples', 'settings'];
  if (o.report !== undefined) {
    if (!Array.isArray(o.report))
      throw new RecipeError('report', `must be a list of sections (${REPORT_SECTIONS.join(', ')})`);
    report = o.report.map((s, i) => {
      if (!REPORT_SECTIONS.includes(s as ReportSection))
        throw new RecipeError(
          `report[${i}]`,
          `unknown section ${JSON.stringify(s)} (expected ${REPORT_SECTIONS.join(', ')})`,
        );
      return s as ReportSection;
    });
  }
  return {
    name,
    title: str(o, 'title', '', name),
    claim: str(o, 'claim', ''),
    source: str(o, 'source', ''),
    needs,
    model: str(o, 'model', '', EMBEDDED_NAME),
    budget,
    arms,
    suite: validateEval(
      o.suite ?? {},
      arms.map((a) => a.id),
    ),
    checks: validateChecks(o.checks, ['base', ...arms.map((a) => a.id)]),
    report,
  };
}

/** Parses and validates recipe text; JSON syntax errors are reported as such. */
export function parseRecipe(text: string, fileName = 'recipe'): Recipe {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${fileName}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return validateRecipe(v);
}

/** Steps and batch size an arm actually trains with. */
export function armBudget(recipe: Recipe, arm: Arm): { steps: number; batchSize: number; gradAccum: number } {
  const b = recipe.budget;
  return b.matched
    ? { steps: b.steps, batchSize: b.batchSize, gradAccum: b.gradAccum }
    : { steps: arm.steps ?? b.steps, batchSize: arm.batchSize ?? b.batchSize, gradAccum: b.gradAccum };
}

/** One line for the report: whether budgets are matched. */
export function budgetStatement(recipe: Recipe): string {
  const b = recipe.budget;
  if (b.matched)
    return `Matched budget: every arm trains ${b.steps} optimizer steps at batch ${b.batchSize}${b.gradAccum > 1 ? ` × ${b.gradAccum} accumulation` : ''}, max ${b.maxSeqLen} tokens per sequence.`;
  return 'Budgets are NOT matched: arms differ in steps or batch size (see the settings table).';
}
