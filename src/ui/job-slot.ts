/**
 * The one slot every long job of the page goes through (training, evaluation, retention, win-rate
 * generation, pair building, experiments, vocabulary), so two heavy jobs never run at once and the
 * header can say what runs. Framework-free: `stores/jobs.svelte.ts` wraps it in runes for the views.
 *
 * `start(kind, label)` takes the slot and returns a ticket, or throws `JobBusyError` naming the job
 * that holds it; `finish(ticket)` frees it (a stale ticket, e.g. after the job was already finished,
 * frees nothing). `update` changes the label of the job a ticket holds.
 */

export type JobKind = 'training' | 'evaluation' | 'retention' | 'winrate' | 'pairs' | 'experiment' | 'vocabulary';

export const JOB_KIND_LABEL: Record<JobKind, string> = {
  training: 'Training',
  evaluation: 'Evaluation',
  retention: 'Retention & fidelity',
  winrate: 'Win-rate generation',
  pairs: 'Pair building',
  experiment: 'Experiment',
  vocabulary: 'Vocabulary',
};

export interface Job {
  /** the ticket: unique per start */
  id: number;
  kind: JobKind;
  label: string;
  startedAt: number;
}

export class JobBusyError extends Error {
  constructor(readonly holder: Job) {
    super(`${describeJob(holder)} is running; wait for it to finish or stop it first`);
    this.name = 'JobBusyError';
  }
}

/** "Training: clo-12-01" (kind, then the label when there is one). */
export function describeJob(job: Pick<Job, 'kind' | 'label'>): string {
  return job.label ? `${JOB_KIND_LABEL[job.kind]}: ${job.label}` : JOB_KIND_LABEL[job.kind];
}

export class JobSlot {
  private job: Job | null = null;
  private next = 1;

  /** @param onChange called with the job in the slot (or null) after every change */
  constructor(
    private readonly onChange: (job: Job | null) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get current(): Job | null {
    return this.job;
  }

  /** Takes the slot; throws JobBusyError when another job holds it. Returns the ticket. */
  start(kind: JobKind, label = ''): number {
    if (this.job) throw new JobBusyError(this.job);
    this.job = { id: this.next++, kind, label, startedAt: this.now() };
    this.onChange(this.job);
    return this.job.id;
  }

  /** Frees the slot if `ticket` still holds it; returns whether it did. */
  finish(ticket: number): boolean {
    if (this.job?.id !== ticket) return false;
    this.job = null;
    this.onChange(null);
    return true;
  }

  /** Renames the job `ticket` holds (e.g. the run's step or arm); false for a stale ticket. */
  update(ticket: number, label: string): boolean {
    if (this.job?.id !== ticket) return false;
    this.job = { ...this.job, label };
    this.onChange(this.job);
    return true;
  }

  /** Runs `work` in the slot and frees it when the promise settles (resolved or rejected). */
  async run<T>(kind: JobKind, label: string, work: () => Promise<T>): Promise<T> {
    const ticket = this.start(kind, label);
    try {
      return await work();
    } finally {
      this.finish(ticket);
    }
  }
}
