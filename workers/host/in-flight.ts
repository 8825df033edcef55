/**
 * The jobs in flight in this tab, kept in sessionStorage while they run (./job-worker.ts writes a
 * record when a call asks for it, and removes it when the call settles). A record still there when
 * the page boots is a job the reload interrupted: `takeInterrupted()` returns those records (and
 * forgets them), so the page can say what was lost and re-submit `request` to restart it.
 */
export interface InFlightRecord {
  /** the job id */
  id: string;
  /** who can restart it, e.g. 'evaluation' (the page registers a restarter per `what`) */
  what: string;
  /** what the user saw, e.g. "Evaluation: base model on kobest_boolq" */
  label: string;
  /** what the restarter needs to submit the same job again (plain data) */
  request: unknown;
  startedAt: number;
}

const KEY = 'clo-lab:jobs-in-flight';

function storage(): Storage | null {
  try {
    return (globalThis as { sessionStorage?: Storage }).sessionStorage ?? null;
  } catch {
    return null;
  }
}

function read(): InFlightRecord[] {
  try {
    const v = JSON.parse(storage()?.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as InFlightRecord[]) : [];
  } catch {
    return [];
  }
}

function write(list: InFlightRecord[]): void {
  try {
    if (list.length) storage()?.setItem(KEY, JSON.stringify(list));
    else storage()?.removeItem(KEY);
  } catch {
    /* storage unavailable or full: a reload will not know about this job */
  }
}

export function rememberInFlight(r: InFlightRecord): void {
  write([...read().filter((x) => x.id !== r.id), r]);
}

export function forgetInFlight(id: string): void {
  const list = read();
  if (list.some((x) => x.id === id)) write(list.filter((x) => x.id !== id));
}

/** The records a reload left behind (jobs it interrupted), oldest first; they are forgotten. */
export function takeInterrupted(): InFlightRecord[] {
  const list = read();
  write([]);
  return list;
}
