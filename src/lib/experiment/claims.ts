/**
 * The claims a recipe tests, each as one comparison the report can decide from its own numbers:
 * "arm's metric op factor × other's metric" (e.g. CLO's English perplexity ≤ 3 × the base's). A
 * report states every check and whether the numbers at that budget support it; a missing number
 * (an arm not run yet, a metric the suite does not measure) reads "not measured", never "supported".
 */
/** Metrics a check can compare; `tasks@k` is the mean macro-F1 over the recipe's tasks at k shots. */
export type CheckMetric =
  'ppl' | 'bpc' | 'finalLoss' | 'koFidelity' | 'enFidelity' | 'koDegenerate' | 'enDegenerate' | `tasks@${number}`;

export const CHECK_METRICS: Record<string, { label: string; better: 'lower' | 'higher' }> = {
  ppl: { label: 'English perplexity', better: 'lower' },
  bpc: { label: 'target-language bits/char', better: 'lower' },
  finalLoss: { label: 'final training loss', better: 'lower' },
  koFidelity: { label: 'Korean fidelity', better: 'higher' },
  enFidelity: { label: 'English fidelity', better: 'higher' },
  koDegenerate: { label: 'Korean degenerate share', better: 'lower' },
  enDegenerate: { label: 'English degenerate share', better: 'lower' },
  tasks: { label: 'mean macro-F1 of the tasks', better: 'higher' },
};

export type CheckOp = '<' | '<=' | '>' | '>=';
export const CHECK_OPS: CheckOp[] = ['<', '<=', '>', '>='];

export interface Check {
  /** the claim in words, as a reader should read it */
  claim: string;
  /** the arm (or 'base') whose number is tested */
  arm: string;
  metric: CheckMetric;
  op: CheckOp;
  /** the arm (or 'base') it is compared with */
  than: string;
  /** the other side is multiplied by this (default 1): "≤ 3 × the base's" */
  factor: number;
}

export type Verdict = 'supported' | 'not supported' | 'not measured';

export interface CheckResult {
  check: Check;
  verdict: Verdict;
  /** the comparison with its numbers, e.g. "CLO (LoRA) 9.12 ≤ 3 × base model 4.03 = 12.09" */
  evidence: string;
}

const OP_TEXT: Record<CheckOp, string> = { '<': '<', '<=': '≤', '>': '>', '>=': '≥' };

/** One model's numbers as the checks read them: `values[metric]` (tasks@k included), null when not measured. */
export interface CheckRow {
  id: string;
  label: string;
  values: Partial<Record<string, number | null>>;
}

function metricValue(row: CheckRow | undefined, metric: CheckMetric): number | null {
  const v = row?.values[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

export function metricLabel(metric: CheckMetric): string {
  return CHECK_METRICS[metric.startsWith('tasks@') ? 'tasks' : metric]?.label ?? metric;
}

/** Decides every check from the models' numbers (report.ts `judgeExperiment` builds the rows of a run). */
export function judgeChecks(checks: Check[], checkRows: CheckRow[]): CheckResult[] {
  const rows = new Map(checkRows.map((r) => [r.id, r]));
  return checks.map((check) => {
    const a = rows.get(check.arm);
    const b = rows.get(check.than);
    const x = metricValue(a, check.metric);
    const y = metricValue(b, check.metric);
    const what = `${metricLabel(check.metric)}${check.metric.startsWith('tasks@') ? ` (${check.metric.slice(6)}-shot)` : ''}`;
    if (x === null || y === null)
      return {
        check,
        verdict: 'not measured',
        evidence: `${what}: ${x === null ? (a?.label ?? check.arm) : (b?.label ?? check.than)} has no number yet`,
      };
    const bound = check.factor * y;
    const ok =
      check.op === '<' ? x < bound : check.op === '<=' ? x <= bound : check.op === '>' ? x > bound : x >= bound;
    const right =
      check.factor === 1 ? `${b!.label} ${fmt(y)}` : `${check.factor} × ${b!.label} ${fmt(y)} = ${fmt(bound)}`;
    return {
      check,
      verdict: ok ? 'supported' : 'not supported',
      evidence: `${what}: ${a!.label} ${fmt(x)} ${OP_TEXT[check.op]} ${right}${ok ? '' : ' does not hold'}`,
    };
  });
}

/** One line summing the verdicts: "2 of 3 checks supported at this budget (1 not measured)". */
export function verdictSummary(results: CheckResult[]): string {
  const n = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  const open = n('not measured');
  return `${n('supported')} of ${results.length} checks supported at this budget${open ? ` (${open} not measured yet)` : ''}`;
}
