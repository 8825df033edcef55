/**
 * Persistence of evaluation results and win-rate sessions on any KeyValueStore.
 * Keys: a run's evaluations under `run-extra:<runId>:eval:<id>` (RunStore's per-run extras, so
 * deleting the run deletes them); base-model evaluations under `eval:base:<id>`; retention/fidelity
 * measurements likewise under `run-extra:<runId>:retention:<id>` and `retention:base:<id>` (kept apart
 * from task evaluations so the comparison table only sees task results); win-rate sessions under
 * `winrate:<id>`.
 */
import type { KeyValueStore } from '../store/types';
import type { EvalReport } from './run-eval';
import type { SplitName } from './tasks';
import type { WinRateSession } from './winrate';
import type { FidelitySummary, HeldOutPerplexity } from './retention';

export type EvalSubject = { kind: 'base' } | { kind: 'run'; runId: string; runName: string; step: number | null };

export interface EvalRecord {
  id: string;
  createdAt: number;
  subject: EvalSubject;
  /** row label in the comparison table, e.g. 'stories260K (base)' or 'my-clo-run @ step 200' */
  label: string;
  model: string;
  backend: string;
  shots: number;
  limit: number | null;
  seed: number;
  split?: SplitName;
  ms: number;
  report: EvalReport;
}

/** Held-out perplexity and/or language fidelity of one subject (docs/methods.md §5). */
export interface RetentionRecord {
  id: string;
  createdAt: number;
  subject: EvalSubject;
  label: string;
  model: string;
  backend: string;
  /** perplexity: paragraphs; fidelity: prompts per language; null = all */
  limit: number | null;
  maxNewTokens: number;
  ms: number;
  perplexity: HeldOutPerplexity | null;
  fidelity: FidelitySummary | null;
}

export interface WinRateRecord {
  session: WinRateSession;
  generation: { maxNewTokens: number; temperature: number; topP: number; seed: number };
  updatedAt: number;
}

export function newEvalId(now = Date.now()): string {
  return `eval-${now.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

type Kind = 'eval' | 'retention';

/** A run's records live under run-extra:<runId>:… (deleted with the run); the base model's under <kind>:base:… */
function recordKey(kind: Kind, r: { id: string; subject: EvalSubject }): string {
  return r.subject.kind === 'run' ? `run-extra:${r.subject.runId}:${kind}:${r.id}` : `${kind}:base:${r.id}`;
}

export class EvalResultStore {
  constructor(readonly kv: KeyValueStore) {}

  /** Records of one kind, base model and runs, newest first. */
  private async listKind<T extends { createdAt: number }>(kind: Kind): Promise<T[]> {
    const keys = [
      ...(await this.kv.keys(`${kind}:base:`)),
      ...(await this.kv.keys('run-extra:')).filter((k) => k.includes(`:${kind}:`)),
    ];
    const recs = await Promise.all(keys.map((k) => this.kv.get<T>(k)));
    return recs
      .filter((r): r is NonNullable<Awaited<typeof r>> => !!r)
      .sort((a, b) => b.createdAt - a.createdAt) as T[];
  }

  async save(r: EvalRecord): Promise<void> {
    await this.kv.set(recordKey('eval', r), r);
  }

  async list(): Promise<EvalRecord[]> {
    return this.listKind<EvalRecord>('eval');
  }

  async delete(r: Pick<EvalRecord, 'id' | 'subject'>): Promise<void> {
    await this.kv.del(recordKey('eval', r));
  }

  async saveRetention(r: RetentionRecord): Promise<void> {
    await this.kv.set(recordKey('retention', r), r);
  }

  /** Newest first. */
  async listRetention(): Promise<RetentionRecord[]> {
    return this.listKind<RetentionRecord>('retention');
  }

  async deleteRetention(r: Pick<RetentionRecord, 'id' | 'subject'>): Promise<void> {
    await this.kv.del(recordKey('retention', r));
  }

  async saveWinRate(r: WinRateRecord): Promise<void> {
    await this.kv.set(`winrate:${r.session.id}`, { ...r, updatedAt: Date.now() });
  }

  async listWinRates(): Promise<WinRateRecord[]> {
    const keys = await this.kv.keys('winrate:');
    const recs = await Promise.all(keys.map((k) => this.kv.get<WinRateRecord>(k)));
    return recs.filter((r): r is WinRateRecord => !!r).sort((a, b) => b.session.createdAt - a.session.createdAt);
  }

  async deleteWinRate(id: string): Promise<void> {
    await this.kv.del(`winrate:${id}`);
  }
}
