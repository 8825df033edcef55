/**
 * The report of a finished (or partly finished) experiment, as files: report.md, summary.csv,
 * tasks.csv, curves.csv, curves.svg, tradeoff.svg, winrate-*.json, report.json. The CLI writes them
 * to --out; the browser offers them as downloads. Base model first, then the arms, each with its
 * change from the base.
 */
import { createSession } from '../eval/winrate';
import { TASK_CHOICES, taskUncertainty } from '../eval/intervals';
import type { ArmResult, ExperimentState } from './runner';
import type { SuiteResult } from './suite';
import { budgetStatement } from './recipe';
import { barChartSvg, lineChartSvg } from './svg';
import { judgeChecks, verdictSummary, type CheckResult, type CheckRow } from './claims';

export interface ReportRow {
  id: string;
  label: string;
  method: string;
  rows: number | null;
  finalLoss: number | null;
  trainSeconds: number | null;
  ppl: number | null;
  bpc: number | null;
  koFidelity: number | null;
  enFidelity: number | null;
  enDistinct4: number | null;
  enDegenerate: number | null;
  koDegenerate: number | null;
}

function rowOf(id: string, label: string, method: string, ev: SuiteResult | undefined, arm?: ArmResult): ReportRow {
  const last = arm?.metrics[arm.metrics.length - 1];
  return {
    id,
    label,
    method,
    rows: arm ? arm.rows.used : null,
    finalLoss: last ? last.loss : null,
    trainSeconds: arm ? arm.trainSeconds : null,
    ppl: ev?.perplexity?.ppl ?? null,
    bpc: ev?.bitsPerChar?.bits_per_char ?? null,
    koFidelity: ev?.fidelity?.ko.share ?? null,
    enFidelity: ev?.fidelity?.en.share ?? null,
    enDistinct4: ev?.fidelity?.en.repetition.meanDistinct4 ?? null,
    enDegenerate: ev?.fidelity?.en.repetition.degenerateShare ?? null,
    koDegenerate: ev?.fidelity?.ko.repetition.degenerateShare ?? null,
  };
}

export function reportRows(s: ExperimentState): ReportRow[] {
  return [rowOf('base', 'base model', '—', s.base), ...s.arms.map((a) => rowOf(a.id, a.label, a.method, a.eval, a))];
}

/** Each model's numbers for the recipe's checks: the report row's metrics and, per k, the tasks' mean macro-F1 × 100. */
export function checkRows(s: ExperimentState): CheckRow[] {
  const names = s.recipe.suite.tasks?.names ?? [];
  const evs = new Map<string, SuiteResult | undefined>([
    ['base', s.base],
    ...s.arms.map((a) => [a.id, a.eval] as [string, SuiteResult]),
  ]);
  return reportRows(s).map((r) => {
    const values: Record<string, number | null> = { ...r } as unknown as Record<string, number | null>;
    for (const k of s.recipe.suite.tasks?.shots ?? []) {
      const f1 = names.map((n) => evs.get(r.id)?.tasks?.[`${n}@${k}`]?.macro_f1);
      values[`tasks@${k}`] =
        names.length && f1.every((v) => v != null && Number.isFinite(v))
          ? (100 * (f1 as number[]).reduce((x, y) => x + y, 0)) / f1.length
          : null;
    }
    return { id: r.id, label: r.label, values };
  });
}

/** The recipe's checks decided from the run's own numbers. */
export function judgeExperiment(s: ExperimentState): CheckResult[] {
  return judgeChecks(s.recipe.checks, checkRows(s));
}

const f = (v: number | null | undefined, d = 3) => (v == null || !Number.isFinite(v) ? '–' : v.toFixed(d));
const pct = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(0)}%`);
const delta = (v: number | null, b: number | null, d = 3) =>
  v == null || b == null || !Number.isFinite(v) || !Number.isFinite(b)
    ? ''
    : ` (${v - b >= 0 ? '+' : ''}${(v - b).toFixed(d)})`;
const csvCell = (v: unknown) => {
  const s = v == null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csv = (rows: unknown[][]) => rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';

/** Table 2 layout of the first paper: rows = model × k, columns = the tasks, macro-F1 × 100. */
export const TABLE2_TASKS = ['kobest_boolq', 'kobest_copa', 'kobest_hellaswag', 'kobest_sentineg', 'kobest_wic'];

function taskColumns(s: ExperimentState): string[] {
  const names = s.recipe.suite.tasks?.names ?? [];
  return [...TABLE2_TASKS.filter((t) => names.includes(t)), ...names.filter((t) => !TABLE2_TASKS.includes(t))];
}

function models(s: ExperimentState): { id: string; label: string; ev: SuiteResult | undefined }[] {
  return [
    { id: 'base', label: 'base model', ev: s.base },
    ...s.arms.map((a) => ({ id: a.id, label: a.label, ev: a.eval })),
  ];
}

/** Log-perplexity increase (nats/token) and bits/char gain per arm against the base. */
export function tradeoff(
  s: ExperimentState,
): { label: string; englishLoss: number | null; targetGain: number | null }[] {
  const b = s.base;
  return s.arms.map((a) => ({
    label: a.label,
    englishLoss: a.eval.perplexity && b?.perplexity ? a.eval.perplexity.nll - b.perplexity.nll : null,
    targetGain:
      a.eval.bitsPerChar && b?.bitsPerChar ? b.bitsPerChar.bits_per_char - a.eval.bitsPerChar.bits_per_char : null,
  }));
}

export function winRateSessions(s: ExperimentState) {
  const wr = s.recipe.suite.winRate;
  if (!wr) return [];
  const byId = new Map(models(s).map((m) => [m.id, m]));
  return wr.pairs.flatMap(([x, y]) => {
    const X = byId.get(x)?.ev?.fidelity;
    const Y = byId.get(y)?.ev?.fidelity;
    if (!X || !Y) return [];
    const ko = X.items.filter((i) => i.lang === 'ko').slice(0, wr.limit);
    const prompts = ko.map((i) => ({ prompt: i.prompt, x: i.text, y: Y.items.find((j) => j.id === i.id)?.text ?? '' }));
    return [
      createSession(
        `${s.id}-${x}-vs-${y}`,
        byId.get(x)!.label,
        byId.get(y)!.label,
        prompts,
        s.recipe.budget.seed,
        s.startedAt,
      ),
    ];
  });
}

export function buildReport(s: ExperimentState): Map<string, string> {
  const files = new Map<string, string>();
  const r = s.recipe;
  const rows = reportRows(s);
  const base = rows[0];
  const md: string[] = [
    `# ${r.title}`,
    '',
    `**Claim tested**: ${r.claim}`,
    `**Source**: ${r.source}`,
    '',
    `Model ${r.model}, backend ${s.backend}, status ${s.status}${s.error ? ` (${s.error})` : ''}. ${budgetStatement(r)}`,
    '',
  ];
  const checks = judgeExperiment(s);
  if (checks.length) {
    md.push(`## Does the claim hold at this budget? ${verdictSummary(checks)}`, '');
    md.push('| check | verdict | numbers |', '| --- | --- | --- |');
    for (const c of checks) md.push(`| ${c.check.claim} | **${c.verdict}** | ${c.evidence} |`);
    md.push(
      '',
      'A check that does not hold says only that these numbers, at this budget, do not support that part of the claim; the source papers trained far larger models for far longer.',
      '',
    );
  }
  for (const sec of r.report) {
    if (sec === 'summary') {
      md.push('## Summary (base model first; change from the base in brackets)', '');
      md.push(
        '| model | method | rows | final loss | English ppl ↓ | target bits/char ↓ | ko fidelity | en fidelity | en distinct-4 | en degenerate | train s |',
      );
      md.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const x of rows) {
        md.push(
          `| ${x.label} | ${x.method} | ${x.rows ?? '–'} | ${f(x.finalLoss)} | ${f(x.ppl, 2)}${x.id === 'base' ? '' : delta(x.ppl, base.ppl, 2)} | ${f(x.bpc)}${x.id === 'base' ? '' : delta(x.bpc, base.bpc)} | ${pct(x.koFidelity)} | ${pct(x.enFidelity)} | ${f(x.enDistinct4, 2)} | ${pct(x.enDegenerate)} | ${x.trainSeconds == null ? '–' : x.trainSeconds.toFixed(0)} |`,
        );
      }
      const fid = r.suite.fidelity;
      md.push(
        '',
        `English ppl: held-out TinyStories dev paragraphs${r.suite.perplexity ? ` (first ${r.suite.perplexity.limit})` : ''}. Target bits/char: ${r.suite.bitsPerChar ? `field "${r.suite.bitsPerChar.field}" of ${r.suite.bitsPerChar.file} (first ${r.suite.bitsPerChar.limit} rows, not used in training)` : 'not measured'}. ` +
          `Fidelity: share of greedy answers (${fid ? `${fid.maxNewTokens} new tokens, ${fid.limit} prompts per language` : 'not measured'}) mostly in the prompt's script; distinct-4 and "degenerate" (repetition.ts) flag answers that loop.`,
        '',
      );
    }
    if (sec === 'tasks-table2' && r.suite.tasks) {
      const cols = taskColumns(s);
      md.push('## Multiple-choice tasks: macro-F1 × 100 (rows = model × k)', '');
      md.push(
        `| model | k | ${cols.map((c) => c.replace('kobest_', '')).join(' | ')} |`,
        `| --- | ---: |${cols.map(() => ' ---: |').join('')}`,
      );
      for (const m of models(s)) {
        for (const k of r.suite.tasks.shots) {
          md.push(
            `| ${m.label} | ${k} | ${cols.map((c) => f(m.ev?.tasks?.[`${c}@${k}`] ? 100 * m.ev.tasks[`${c}@${k}`].macro_f1 : null, 1)).join(' | ')} |`,
          );
        }
      }
      md.push(
        '',
        `First ${r.suite.tasks.limit} items of each task's test split; chance macro-F1 is about 50 for the two-way tasks and 25 for HellaSwag's four choices.`,
        '',
      );
      md.push(
        '### Accuracy × 100 with its Wilson 95% interval',
        '',
        `| model | k | ${cols.map((c) => c.replace('kobest_', '')).join(' | ')} |`,
        `| --- | ---: |${cols.map(() => ' ---: |').join('')}`,
      );
      for (const m of models(s)) {
        for (const k of r.suite.tasks.shots) {
          md.push(
            `| ${m.label} | ${k} | ${cols
              .map((c) => {
                const t = m.ev?.tasks?.[`${c}@${k}`];
                if (!t) return '–';
                const iv = taskUncertainty(c, t).acc;
                return `${f(100 * t.acc, 1)} [${f(100 * iv.low, 1)}, ${f(100 * iv.high, 1)}]`;
              })
              .join(' | ')} |`,
          );
        }
      }
      md.push(
        `| chance | | ${cols.map((c) => (TASK_CHOICES[c] ? f(100 / TASK_CHOICES[c], 1) : '–')).join(' | ')} |`,
        '',
        'Chance: a uniform random guesser (1 / number of choices). The suite keeps no per-item results, so macro-F1 has no interval here (the Evaluate view bootstraps it from the items).',
        '',
      );
    }
    if (sec === 'winrate-table1' && r.suite.winRate) {
      md.push(
        '## Win rate (rows = pair; judged by a person)',
        '',
        '| X vs Y | prompts | X wins | ties | Y wins |',
        '| --- | ---: | ---: | ---: | ---: |',
      );
      for (const ws of winRateSessions(s))
        md.push(`| ${ws.xLabel} vs ${ws.yLabel} | ${ws.items.length} | not judged | not judged | not judged |`);
      md.push(
        '',
        "The sessions (winrate-*.json, in the Win rate view's session format; importing them there is not wired yet) hold both answers to the same Korean prompts in a seeded blind A/B order, for a person to judge. The lab does not judge them itself.",
        '',
      );
    }
    if (sec === 'curves') md.push('## Training curves', '', '![loss of every arm](curves.svg)', '');
    if (sec === 'tradeoff') {
      md.push(
        '## Retention vs target-language gain',
        '',
        '![trade-off](tradeoff.svg)',
        '',
        '| arm | English loss increase (nats/token) ↓ | target gain (bits/char) ↑ |',
        '| --- | ---: | ---: |',
      );
      for (const t of tradeoff(s)) md.push(`| ${t.label} | ${f(t.englishLoss)} | ${f(t.targetGain)} |`);
      md.push('');
    }
    if (sec === 'samples') {
      md.push('## Sample generations (greedy, same prompts)', '');
      const first = s.base?.fidelity?.items ?? [];
      const picks = [first.find((i) => i.lang === 'ko'), first.find((i) => i.lang === 'en')].filter(
        (x) => x !== undefined,
      );
      for (const p of picks) {
        md.push(`**Prompt** (${p.lang}): ${JSON.stringify(p.prompt)}`, '');
        for (const m of models(s)) {
          const it = m.ev?.fidelity?.items.find((i) => i.id === p.id);
          md.push(
            `- ${m.label}: ${JSON.stringify((it?.text ?? '–').slice(0, 200))}${it?.repetition.degenerate ? ' *(degenerate)*' : ''}`,
          );
        }
        md.push('');
      }
    }
    if (sec === 'settings') {
      md.push(
        '## Settings',
        '',
        '| arm | objective | data | use | steps × batch | lr | β | λ | method | seed |',
        '| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: |',
      );
      for (const a of s.arms) {
        const arm = r.arms.find((x) => x.id === a.id)!;
        md.push(
          `| ${a.label} | ${a.objective} | ${arm.data.file}${arm.data.rows ? ` (first ${arm.data.rows})` : ''} | ${arm.data.use} | ${a.config.steps} × ${a.config.batchSize} | ${a.config.lr} | ${a.config.beta} | ${a.config.lambda} | ${a.method} | ${a.config.seed} |`,
        );
      }
      md.push(
        '',
        `Max sequence length ${r.budget.maxSeqLen} tokens (longer rows are skipped, as in \`lab train\`). Wall time: ${s.finishedAt ? `${((s.finishedAt - s.startedAt) / 1000).toFixed(0)} s` : 'unfinished'}.`,
        '',
      );
    }
  }
  files.set('report.md', md.join('\n'));
  files.set(
    'summary.csv',
    csv([
      [
        'model',
        'method',
        'rows',
        'final_loss',
        'english_ppl',
        'target_bits_per_char',
        'ko_fidelity',
        'en_fidelity',
        'en_distinct4',
        'en_degenerate',
        'ko_degenerate',
        'train_seconds',
      ],
      ...rows.map((x) => [
        x.id,
        x.method,
        x.rows,
        x.finalLoss,
        x.ppl,
        x.bpc,
        x.koFidelity,
        x.enFidelity,
        x.enDistinct4,
        x.enDegenerate,
        x.koDegenerate,
        x.trainSeconds,
      ]),
    ]),
  );
  if (r.suite.tasks) {
    const out: unknown[][] = [
      ['model', 'task', 'shots', 'n', 'acc', 'macro_f1', 'acc_wilson95_low', 'acc_wilson95_high', 'chance_acc'],
    ];
    for (const m of models(s))
      for (const [key, t] of Object.entries(m.ev?.tasks ?? {})) {
        const task = key.split('@')[0];
        const u = taskUncertainty(task, t);
        out.push([m.id, task, key.split('@')[1], t.n, t.acc, t.macro_f1, u.acc.low, u.acc.high, u.chanceAcc]);
      }
    files.set('tasks.csv', csv(out));
  }
  const curveRows: unknown[][] = [['arm', 'step', 'loss', 'loss_nll', 'loss_pref', 'rewards_margins', 'lr']];
  for (const a of s.arms)
    for (const m of a.metrics)
      curveRows.push([a.id, m.step, m.loss, m['loss/nll'], m['loss/pref'], m['rewards/margins'], m.lr]);
  files.set('curves.csv', csv(curveRows));
  files.set(
    'curves.svg',
    lineChartSvg(
      `${r.name}: training loss per step`,
      'step',
      'loss',
      s.arms.map((a) => ({ label: a.label, points: a.metrics.map((m) => [m.step, m.loss] as [number, number]) })),
    ),
  );
  files.set(
    'tradeoff.svg',
    barChartSvg(
      `${r.name}: English loss increase vs target-language gain`,
      ['English loss increase (nats/token, lower is better)', 'target gain (bits/char, higher is better)'],
      tradeoff(s).map((t) => ({ label: t.label, values: [t.englishLoss, t.targetGain] })),
    ),
  );
  for (const ws of winRateSessions(s))
    files.set(`winrate-${ws.id.slice(s.id.length + 1)}.json`, JSON.stringify(ws, null, 1));
  files.set('report.json', JSON.stringify(s, null, 1));
  return files;
}
