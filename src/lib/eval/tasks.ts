/**
 * Evaluation tasks: KoBEST (docs/methods.md §4) and the English counterparts (docs/methods.md §5).
 *
 * Each task maps one raw row of its data file (field names as in the source files) to a
 * multiple-choice document: a context, the choice strings and the gold index. Scoring turns
 * each choice into the continuation " " + choice (requests.ts).
 */

export type SplitName = 'train' | 'dev' | 'test';

/** One multiple-choice item, ready for request construction. */
export interface McDoc {
  context: string;
  choices: string[];
  gold: number;
}

export interface EvalTask {
  /** CLI / result key, e.g. 'kobest_boolq', 'en_copa' */
  name: string;
  /** column title in the comparison table, e.g. 'BoolQ' */
  title: string;
  lang: 'ko' | 'en';
  /** data files per split, relative to the data root (e.g. 'kobest/boolq.test.jsonl') */
  files: Partial<Record<SplitName, string>>;
  /** the split scored when none is asked for */
  defaultSplit: SplitName;
  /**
   * Where k-shot examples come from, per scored split. When it is the scored split itself,
   * the test item is never among its own shots (fewshot.ts).
   */
  fewshotSplit: Partial<Record<SplitName, SplitName>>;
  /** also report acc_norm (hellaswag) */
  accNorm: boolean;
  /** raw row → document; throws RowMappingError naming the field at fault */
  toDoc(row: Record<string, unknown>): McDoc;
}

/** A row that cannot be mapped; the loader adds file and line. */
export class RowMappingError extends Error {}

function field(row: Record<string, unknown>, key: string): string {
  const v = row[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new RowMappingError(`field "${key}" is ${v === undefined ? 'missing' : `not a string (${typeof v})`}`);
}

/** "true" in any case → 1; "false" in any case → 0; anything else is an error. */
export function boolLabel(row: Record<string, unknown>, key: string): number {
  const v = row[key];
  if (v === true) return 1;
  if (v === false) return 0;
  const s = field(row, key).trim().toLowerCase();
  if (s === 'true') return 1;
  if (s === 'false') return 0;
  throw new RowMappingError(`field "${key}" is "${String(v)}", expected true/false (any case)`);
}

/** Integer label in [0, n). `offset` is subtracted first (COPA's 1/2 → 0/1). */
export function intLabel(row: Record<string, unknown>, key: string, n: number, offset = 0): number {
  const raw = field(row, key).trim();
  if (!/^-?\d+$/.test(raw)) throw new RowMappingError(`field "${key}" is "${raw}", expected an integer`);
  const v = Number(raw) - offset;
  if (v < 0 || v >= n) {
    throw new RowMappingError(`field "${key}" is ${raw}, expected ${offset}..${n - 1 + offset}`);
  }
  return v;
}

/** The harness's HellaSwag preprocessing (docs/methods.md §5). */
export function hellaswagPreprocess(text: string): string {
  let t = text.trim();
  t = t.split(' [title]').join('. ');
  t = t.replace(/\[.*?\]/g, '');
  t = t.split('  ').join(' ');
  return t;
}

function lowerFirst(s: string): string {
  return s.length === 0 ? s : s[0].toLowerCase() + s.slice(1);
}

const KO_NO_YES = ['아니오', '예'];

export const kobestBoolq: EvalTask = {
  name: 'kobest_boolq',
  title: 'BoolQ',
  lang: 'ko',
  files: { train: 'kobest/boolq.train.jsonl', test: 'kobest/boolq.test.jsonl' },
  defaultSplit: 'test',
  fewshotSplit: { test: 'train' },
  accNorm: false,
  toDoc: (r) => ({
    context: `${field(r, 'Text')} 질문: ${field(r, 'Question')} 답변: `,
    choices: KO_NO_YES,
    gold: boolLabel(r, 'Answer'),
  }),
};

export const kobestCopa: EvalTask = {
  name: 'kobest_copa',
  title: 'COPA',
  lang: 'ko',
  files: { train: 'kobest/copa.train.jsonl', test: 'kobest/copa.test.jsonl' },
  defaultSplit: 'test',
  fewshotSplit: { test: 'train' },
  accNorm: false,
  toDoc: (r) => {
    const q = field(r, 'question').trim();
    // lm-evaluation-harness: f"{premise} {connector}" with connector " 왜냐하면" / " 그래서", so two spaces
    let connector: string;
    if (q === '원인') connector = ' 왜냐하면';
    else if (q === '결과') connector = ' 그래서';
    else throw new RowMappingError(`field "question" is "${q}", expected 원인 or 결과`);
    return {
      context: `${field(r, 'sentence')} ${connector}`,
      choices: [field(r, '1'), field(r, '2')],
      gold: intLabel(r, 'Answer', 2, 1),
    };
  },
};

export const kobestHellaswag: EvalTask = {
  name: 'kobest_hellaswag',
  title: 'HellaSwag',
  lang: 'ko',
  files: { train: 'kobest/hellaswag.train.jsonl', test: 'kobest/hellaswag.test.jsonl' },
  defaultSplit: 'test',
  fewshotSplit: { test: 'train' },
  accNorm: true,
  toDoc: (r) => ({
    context: `문장: ${field(r, 'context')}`,
    choices: [field(r, 'choice1'), field(r, 'choice2'), field(r, 'choice3'), field(r, 'choice4')],
    gold: intLabel(r, 'label', 4),
  }),
};

/** Test = the negated sentences (Text, Label); train has the same two fields. */
export const kobestSentineg: EvalTask = {
  name: 'kobest_sentineg',
  title: 'SentiNeg',
  lang: 'ko',
  files: { train: 'kobest/sentineg.train.jsonl', test: 'kobest/sentineg.test.jsonl' },
  defaultSplit: 'test',
  fewshotSplit: { test: 'train' },
  accNorm: false,
  toDoc: (r) => ({
    context: `문장: ${field(r, 'Text')} 긍부정:`,
    choices: ['부정', '긍정'],
    gold: intLabel(r, 'Label', 2),
  }),
};

export const kobestWic: EvalTask = {
  name: 'kobest_wic',
  title: 'WiC',
  lang: 'ko',
  files: { train: 'kobest/wic.train.jsonl', test: 'kobest/wic.test.jsonl' },
  defaultSplit: 'test',
  fewshotSplit: { test: 'train' },
  accNorm: false,
  toDoc: (r) => ({
    context: `문장1: ${field(r, 'SENTENCE1')} 문장2: ${field(r, 'SENTENCE2')} 두 문장에서 ${field(r, 'Target')}가 같은 뜻으로 쓰였나?`,
    choices: KO_NO_YES,
    gold: boolLabel(r, 'ANSWER'),
  }),
};

function enCopaDoc(premise: string, question: string, c1: string, c2: string, gold: number): McDoc {
  const q = question.trim();
  let connector: string;
  if (q === 'cause') connector = 'because';
  else if (q === 'effect') connector = 'therefore';
  else throw new RowMappingError(`question is "${q}", expected cause or effect`);
  // premise without its final character (the period), as the harness does
  const p = premise.trim();
  return {
    context: `${p.slice(0, -1)} ${connector}`,
    choices: [` ${lowerFirst(c1)}`, ` ${lowerFirst(c2)}`],
    gold,
  };
}

/**
 * English COPA: dev uses SuperGLUE fields (premise, choice1, choice2, question, label); test uses
 * the original COPA fields (p, a1, a2, asks-for, most-plausible-alternative). Detected per row.
 */
export const enCopa: EvalTask = {
  name: 'en_copa',
  title: 'COPA',
  lang: 'en',
  files: { dev: 'english/copa.dev.jsonl', test: 'english/copa.test.jsonl' },
  defaultSplit: 'dev',
  // no train split bundled: dev is its own shot pool; test draws from dev
  fewshotSplit: { dev: 'dev', test: 'dev' },
  accNorm: false,
  toDoc: (r) => {
    if ('p' in r) {
      return enCopaDoc(
        field(r, 'p'),
        field(r, 'asks-for'),
        field(r, 'a1'),
        field(r, 'a2'),
        intLabel(r, 'most-plausible-alternative', 2, 1),
      );
    }
    return enCopaDoc(
      field(r, 'premise'),
      field(r, 'question'),
      field(r, 'choice1'),
      field(r, 'choice2'),
      intLabel(r, 'label', 2),
    );
  },
};

export const enBoolq: EvalTask = {
  name: 'en_boolq',
  title: 'BoolQ',
  lang: 'en',
  files: { train: 'english/boolq.train.jsonl', dev: 'english/boolq.dev.jsonl' },
  defaultSplit: 'dev',
  fewshotSplit: { dev: 'train' },
  accNorm: false,
  toDoc: (r) => ({
    context: `${field(r, 'passage')}\nQuestion: ${field(r, 'question')}?\nAnswer:`,
    choices: ['no', 'yes'],
    gold: boolLabel(r, 'label'),
  }),
};

export const enHellaswag: EvalTask = {
  name: 'en_hellaswag',
  title: 'HellaSwag',
  lang: 'en',
  files: { dev: 'english/hellaswag.dev.jsonl' },
  defaultSplit: 'dev',
  fewshotSplit: { dev: 'dev' },
  accNorm: true,
  toDoc: (r) => {
    const endings = r.endings;
    if (!Array.isArray(endings) || endings.length !== 4 || !endings.every((e) => typeof e === 'string')) {
      throw new RowMappingError('field "endings" is not a list of 4 strings');
    }
    return {
      context: hellaswagPreprocess(`${field(r, 'activity_label')}: ${field(r, 'context')}`),
      choices: (endings as string[]).map(hellaswagPreprocess),
      gold: intLabel(r, 'label', 4),
    };
  },
};

export const KOBEST_TASKS: EvalTask[] = [kobestBoolq, kobestCopa, kobestHellaswag, kobestSentineg, kobestWic];
export const ENGLISH_TASKS: EvalTask[] = [enCopa, enBoolq, enHellaswag];
export const ALL_TASKS: EvalTask[] = [...KOBEST_TASKS, ...ENGLISH_TASKS];

export function taskByName(name: string): EvalTask | undefined {
  return ALL_TASKS.find((t) => t.name === name);
}

/** Parses a comma-separated task list; throws naming the unknown task. */
export function parseTaskList(list: string): EvalTask[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new Error('--tasks: empty task list');
  return names.map((n) => {
    const t = taskByName(n);
    if (!t) throw new Error(`--tasks: unknown task "${n}" (known: ${ALL_TASKS.map((x) => x.name).join(', ')})`);
    return t;
  });
}

/** The split to score: the asked one (must exist for the task) or the task's default. */
export function resolveSplit(task: EvalTask, asked?: SplitName): SplitName {
  const split = asked ?? task.defaultSplit;
  if (!task.files[split]) {
    const have = Object.keys(task.files)
      .filter((s) => s !== 'train')
      .join(', ');
    throw new Error(`--split: task ${task.name} has no split "${split}" (available: ${have})`);
  }
  return split;
}
