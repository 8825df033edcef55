/**
 * A pair-building job: translates the parts of every record with the multi-component pipeline.
 *
 * - Resumable: translations go through the cache (cache.ts) when a store is given, so a re-run of
 *   the same job (same translator, languages, texts) sends only what is still missing. Within one
 *   session, `run()` again continues with the records not yet done (and retries failed ones).
 * - A translator-level failure (unreachable, timeout, http, unavailable) or a pause pauses the job:
 *   no new record starts, finished results are kept, and `message` names the translator and the
 *   record index. A record-level failure (text missing from a lookup table, malformed answer)
 *   marks that record `failed` and the job goes on.
 */
import type { KeyValueStore } from '../store/types';
import { cachedTranslator } from './cache';
import {
  DEFAULT_MULTI,
  isRecordLevelError,
  translateRecord,
  validateMultiOptions,
  type MultiComponentOptions,
  type Provenance,
} from './multicomponent';
import { TranslateError, type TranslateErrorKind, type Translator } from './types';

export interface JobRecord {
  /** the texts to translate together, e.g. [instruction, input, output] */
  parts: string[];
  /** 1-based line of the record in its file, for messages */
  line?: number;
}

export interface RecordResult {
  provenance: Provenance;
  parts: string[] | null;
  reason?: string;
  error?: string;
  /** failed records: the error kind, its message without prefixes, and the part that failed */
  errorKind?: TranslateErrorKind;
  errorDetail?: string;
  failedPart?: number;
}

/** A record that could not be translated, for the per-record report. */
export interface RecordFailure {
  /** 0-based index of the record in the job */
  index: number;
  /** 1-based line in its file, when known */
  line?: number;
  /** index of the part that failed; undefined: the record as a whole (joint text) */
  part?: number;
  kind: TranslateErrorKind | 'unknown';
  /** why, in words */
  why: string;
  /** why the joint (one-call) path was not used, when it was tried */
  jointReason?: string;
}

export interface JobCounts {
  done: number;
  total: number;
  joint: number;
  fallback: number;
  failed: number;
}

export interface JobOutcome extends JobCounts {
  status: 'done' | 'paused';
  /** why the job paused: names translator and record */
  message?: string;
  error?: TranslateError;
}

export interface PairJobOptions {
  translator: Translator;
  source: string;
  target: string;
  multi?: MultiComponentOptions;
  /** translation cache storage; without it nothing is cached */
  cache?: KeyValueStore;
  /** records translated at the same time (default 4) */
  concurrency?: number;
  onProgress?: (counts: JobCounts) => void;
}

export class PairJob {
  readonly results: (RecordResult | undefined)[];
  private readonly translator: Translator;
  private readonly multi: MultiComponentOptions;
  private controller: AbortController | null = null;

  constructor(
    readonly records: readonly JobRecord[],
    private readonly opts: PairJobOptions,
  ) {
    this.multi = opts.multi ?? DEFAULT_MULTI;
    const widest = records.reduce((m, r) => Math.max(m, r.parts.length), 0);
    validateMultiOptions(this.multi, widest);
    this.translator = opts.cache ? cachedTranslator(opts.translator, opts.cache) : opts.translator;
    this.results = new Array(records.length).fill(undefined);
  }

  get running(): boolean {
    return this.controller !== null;
  }

  counts(): JobCounts {
    const c: JobCounts = { done: 0, total: this.records.length, joint: 0, fallback: 0, failed: 0 };
    for (const r of this.results) {
      if (!r) continue;
      c.done++;
      c[r.provenance]++;
    }
    return c;
  }

  /** Indices of records without a successful translation (not yet run, or failed). */
  pendingIndices(): number[] {
    const out: number[] = [];
    this.results.forEach((r, i) => {
      if (!r || r.provenance === 'failed') out.push(i);
    });
    return out;
  }

  /** Stops starting records and cancels the ones in flight; run() then resolves as paused. */
  pause(): void {
    this.controller?.abort();
  }

  /** Records that failed, in record order, with the part and the reason. */
  failures(): RecordFailure[] {
    return recordFailures(this.results, this.records);
  }

  describe(index: number): string {
    const line = this.records[index]?.line;
    return line === undefined ? `record ${index}` : `record ${index} (line ${line})`;
  }

  async run(signal?: AbortSignal): Promise<JobOutcome> {
    if (this.controller) throw new Error('this job is already running');
    const controller = new AbortController();
    this.controller = controller;
    const onOuter = (): void => controller.abort();
    if (signal?.aborted) controller.abort();
    signal?.addEventListener('abort', onOuter, { once: true });

    const queue = this.pendingIndices();
    for (const i of queue) if (this.results[i]?.provenance === 'failed') this.results[i] = undefined;
    let next = 0;
    const halt: { first: { index: number; error: TranslateError } | null } = { first: null };
    const report = (): void => this.opts.onProgress?.(this.counts());

    const worker = async (): Promise<void> => {
      while (next < queue.length && !halt.first && !controller.signal.aborted) {
        const index = queue[next++];
        const rec = this.records[index];
        const t = await translateRecord(
          rec.parts,
          this.translator,
          this.opts.source,
          this.opts.target,
          this.multi,
          controller.signal,
        );
        if (t.provenance === 'failed' && t.error && !isRecordLevelError(t.error)) {
          const error = t.error.withRecord(index);
          const seen = halt.first as { index: number } | null; // another worker may have set it meanwhile
          if (!seen || index < seen.index) halt.first = { index, error };
          continue; // left undone: a re-run tries it again
        }
        this.results[index] = {
          provenance: t.provenance,
          parts: t.parts,
          reason: t.reason,
          error: t.error ? t.error.withRecord(index).message : undefined,
          errorKind: t.error?.kind,
          errorDetail: t.error?.detail,
          failedPart: t.failedPart,
        };
        report();
      }
    };

    try {
      report();
      const width = Math.max(1, Math.min(this.opts.concurrency ?? 4, queue.length));
      await Promise.all(Array.from({ length: width }, worker));
    } finally {
      signal?.removeEventListener('abort', onOuter);
      this.controller = null;
    }

    const counts = this.counts();
    const stopped = halt.first;
    if (stopped && stopped.error.kind !== 'aborted') {
      return {
        ...counts,
        status: 'paused',
        error: stopped.error,
        message: `Paused: translator ${stopped.error.translatorId} failed at ${this.describe(stopped.index)}: ${stopped.error.kind}${
          stopped.error.status ? ` (HTTP ${stopped.error.status})` : ''
        }: ${stopped.error.detail}. ${counts.done} of ${counts.total} records kept; run again to continue.`,
      };
    }
    if (counts.done < counts.total) {
      return {
        ...counts,
        status: 'paused',
        message: `Paused by request: ${counts.done} of ${counts.total} records done; run again to continue.`,
      };
    }
    return { ...counts, status: 'done' };
  }
}

export function recordFailures(
  results: readonly (RecordResult | undefined)[],
  records?: readonly JobRecord[],
): RecordFailure[] {
  const out: RecordFailure[] = [];
  results.forEach((r, index) => {
    if (!r || r.provenance !== 'failed') return;
    out.push({
      index,
      line: records?.[index]?.line,
      part: r.failedPart,
      kind: r.errorKind ?? 'unknown',
      why: r.errorDetail ?? r.error ?? r.reason ?? 'no reason given',
      jointReason: r.reason,
    });
  });
  return out;
}
