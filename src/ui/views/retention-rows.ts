/**
 * Rows of the retention & fidelity table: per subject (label), the newest perplexity and the newest
 * fidelity measurement, with run − base deltas when the base model has both sides measured.
 */
import type { RetentionRecord } from '../../lib/eval/results-store';
import {
  retentionDelta,
  type FidelitySummary,
  type HeldOutPerplexity,
  type RetentionDelta,
} from '../../lib/eval/retention';

export interface RetentionRow {
  label: string;
  isBase: boolean;
  perplexity: HeldOutPerplexity | null;
  fidelity: FidelitySummary | null;
  /** null for the base row, and for runs when no base measurement exists */
  delta: RetentionDelta | null;
}

/** `records` newest first (as the store lists them). Base row first, then runs by label. */
export function retentionRows(records: RetentionRecord[]): RetentionRow[] {
  const byLabel = new Map<string, RetentionRow>();
  for (const r of records) {
    const key = r.subject.kind === 'base' ? '\u0000base' : r.label;
    let row = byLabel.get(key);
    if (!row) {
      row = { label: r.label, isBase: r.subject.kind === 'base', perplexity: null, fidelity: null, delta: null };
      byLabel.set(key, row);
    }
    row.perplexity ??= r.perplexity;
    row.fidelity ??= r.fidelity;
  }
  const base = byLabel.get('\u0000base') ?? null;
  const rows = [...byLabel.values()].sort(
    (a, b) => Number(b.isBase) - Number(a.isBase) || a.label.localeCompare(b.label),
  );
  if (base) for (const row of rows) if (!row.isBase) row.delta = retentionDelta(base, row);
  return rows;
}

/** The instruction of an Alpaca-template prompt ("### Instruction:\n…\n\n### Response:"), else the prompt trimmed. */
export function promptInstruction(prompt: string): string {
  const m = /### Instruction:\s*\n([\s\S]*?)\n\s*\n?### (?:Input|Response):/.exec(prompt);
  return (m ? m[1] : prompt).trim();
}

export interface FidelityAnswer {
  id: string;
  lang: string;
  inLanguage: boolean;
  /** the prompt's instruction; null when the prompt is not found (prompts file changed or not loaded) */
  prompt: string | null;
  text: string;
}

/** Each fidelity answer beside the prompt it answered, matched by prompt id. */
export function fidelityAnswers(
  items: { id: string; lang: string; text: string; inLanguage: boolean }[],
  prompts: { id: string; prompt: string }[],
): FidelityAnswer[] {
  const byId = new Map(prompts.map((p) => [p.id, p.prompt]));
  return items.map((it) => {
    const p = byId.get(it.id);
    return {
      id: it.id,
      lang: it.lang,
      inLanguage: it.inLanguage,
      text: it.text,
      prompt: p === undefined ? null : promptInstruction(p),
    };
  });
}

/** The degenerate share shown beside a fidelity share ('' when it was not measured). */
export function degenerateText(s: { degenerate?: number | null } | null | undefined): string {
  return s?.degenerate == null ? '' : `degenerate ${Math.round(100 * s.degenerate)}%`;
}
