/** Run-time overrides of a recipe (CLI flags, the Experiments view's fields). Budgets stay matched: every arm gets the same change. */
import type { Recipe } from './recipe';

/** Applies the overrides; unknown arm ids are ignored (the caller checks them). */
export function applyOverrides(
  r: Recipe,
  o: { steps?: number; batchSize?: number; maxSeqLen?: number; arms?: string[]; evalLimit?: number },
): Recipe {
  const out: Recipe = structuredClone(r);
  if (o.steps !== undefined) out.budget.steps = o.steps;
  if (o.batchSize !== undefined) out.budget.batchSize = o.batchSize;
  if (o.maxSeqLen !== undefined) out.budget.maxSeqLen = o.maxSeqLen;
  if (o.arms) {
    out.arms = r.arms.filter((a) => o.arms!.includes(a.id));
    if (out.suite.winRate) {
      out.suite.winRate.pairs = out.suite.winRate.pairs.filter((p) =>
        p.every((id) => id === 'base' || o.arms!.includes(id)),
      );
      if (out.suite.winRate.pairs.length === 0) delete out.suite.winRate;
    }
  }
  if (o.evalLimit !== undefined) {
    const n = o.evalLimit;
    const e = out.suite;
    if (e.perplexity) e.perplexity.limit = Math.min(e.perplexity.limit, n);
    if (e.bitsPerChar) e.bitsPerChar.limit = Math.min(e.bitsPerChar.limit, n);
    if (e.fidelity) e.fidelity.limit = Math.min(e.fidelity.limit, n);
    if (e.tasks) e.tasks.limit = Math.min(e.tasks.limit, n);
    if (e.winRate) e.winRate.limit = Math.min(e.winRate.limit, n);
  }
  return out;
}
