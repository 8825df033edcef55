/**
 * The page's one job slot (logic in ../job-slot.ts) as rune state: `jobs.current` is the job that
 * runs (null when idle), which the header shows. Every long job starts with `startJob(kind, label)`
 * (throws, naming the running job, when the slot is taken) and ends with `finishJob(ticket)`;
 * `inJobSlot` does both around a promise.
 */
import { JobSlot, describeJob, type Job, type JobKind } from '../job-slot';
import { takeInterrupted, type InFlightRecord } from '../../../workers/host/in-flight';

export { JobBusyError, describeJob, type Job, type JobKind } from '../job-slot';

class JobsState {
  /** the job in the slot, or null */
  current = $state.raw<Job | null>(null);
  /** "Training: run name", or null when idle */
  readonly description = $derived(this.current ? describeJob(this.current) : null);
  /** jobs a reload interrupted (recorded by the job runtime while they ran), until restarted or dismissed */
  interrupted = $state.raw<InFlightRecord[]>([]);
}

export const jobs = new JobsState();

const slot = new JobSlot((job) => {
  jobs.current = job;
});

/** Takes the slot for a long job; returns the ticket to pass to finishJob. Throws when another job runs. */
export function startJob(kind: JobKind, label = ''): number {
  return slot.start(kind, label);
}

/** Frees the slot (a ticket that no longer holds it is ignored). */
export function finishJob(ticket: number): void {
  slot.finish(ticket);
}

/** Changes the label shown for the running job. */
export function updateJob(ticket: number, label: string): void {
  slot.update(ticket, label);
}

/** Runs `work` in the slot, freeing it when the promise settles. */
export function inJobSlot<T>(kind: JobKind, label: string, work: () => Promise<T>): Promise<T> {
  return slot.run(kind, label, work);
}

// not reactive state: the restarters are registered once, when the stores load
const restarters: Record<string, (request: unknown) => void> = {};

/** How to submit a job of kind `what` again after a reload (the store that ran it registers this). */
export function onRestart(what: string, fn: (request: unknown) => void): void {
  restarters[what] = fn;
}

/** On boot: the jobs the last reload interrupted (shown with a Restart button). */
export function loadInterrupted(): void {
  jobs.interrupted = takeInterrupted().filter((r) => r.what in restarters);
}

/** Submits an interrupted job again, with the same request. */
export function restartInterrupted(id: string): void {
  const r = jobs.interrupted.find((x) => x.id === id);
  jobs.interrupted = jobs.interrupted.filter((x) => x.id !== id);
  if (r) restarters[r.what]?.(r.request);
}

export function dismissInterrupted(id: string): void {
  jobs.interrupted = jobs.interrupted.filter((x) => x.id !== id);
}
