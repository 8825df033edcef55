/// <reference lib="webworker" />
/**
 * The job runtime, worker side: a worker is declared as its job handlers and `serveJobs` owns the
 * rest: boot, job ids, progress events, cancellation (an AbortSignal per job), errors and the
 * one-job rule. The page side is ./job-worker.ts; the workers are created in ./registry.ts.
 *
 *   serveJobs<EvalJobs, EvalSettings, HostReady>('evaluation worker', {
 *     boot: (settings, progress) => bootHost(settings, host),
 *     jobs: {
 *       evaluate: async (args, { signal, progress }) => { ...; return result; },
 *     },
 *   });
 *
 * One envelope both ways, `{ kind, id, content }` (Envelope below); `id` is the job id the page chose.
 * A handler's return value is the job's result; a throw is its error, `cancelled` when the job's
 * signal was aborted (or the error is an AbortError). A handler may return normally after its signal
 * was aborted (a training run that pauses returns where it stopped): that is a result.
 * One job at a time: a job sent while another runs is refused, except the kinds named in `alongside`,
 * which run beside the live job (they take turns on the backend through ./lock.ts themselves).
 */
import { describeWorkerError } from './crash';

/** One job kind: what the page sends, what progress events carry, what the job resolves to. */
export interface JobSpec<Args = unknown, Progress = unknown, Result = unknown> {
  args: Args;
  progress: Progress;
  result: Result;
}

/** A worker's jobs by kind. */
export type JobMap = { [kind: string]: JobSpec };

export interface JobContext<P> {
  /** the job id the page chose */
  id: string;
  /** aborted when the page cancels the job; `signal.reason` is the page's reason (e.g. 'pause') */
  signal: AbortSignal;
  progress(ev: P): void;
}

export type JobHandlers<J extends JobMap> = {
  [K in keyof J]: (args: J[K]['args'], ctx: JobContext<J[K]['progress']>) => Promise<J[K]['result']>;
};

/** What a failed job (or boot) reports. */
export interface JobFailure {
  message: string;
  /** the job was cancelled (its signal aborted) */
  cancelled: boolean;
  /** the worker cannot continue (boot failed, crash): the page drops it */
  fatal?: boolean;
  /** the job kind that failed, when known */
  job?: string;
}

/** Page → worker. */
export type ToWorker =
  | { kind: 'boot'; id: string; content: unknown }
  | { kind: 'job'; id: string; content: { job: string; args: unknown } }
  | { kind: 'cancel'; id: string; content: { reason?: string } };

/** Worker → page. `id` is the boot's or job's id ('' for a worker-wide error). */
export type FromWorker =
  | { kind: 'ready'; id: string; content: unknown }
  | { kind: 'progress'; id: string; content: unknown }
  | { kind: 'result'; id: string; content: unknown }
  | { kind: 'error'; id: string; content: JobFailure };

export type Envelope = ToWorker | FromWorker;

/** The worker end of the channel (a DedicatedWorkerGlobalScope; a fake in tests). */
export interface WorkerPort {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => unknown) | null;
}

export interface ServeOptions<J extends JobMap, S, R> {
  /** boots the worker with the page's settings; resolves to the ready report */
  boot: (settings: S, progress: (ev: unknown) => void) => Promise<R>;
  jobs: JobHandlers<J>;
  /** kinds that run beside the live job instead of being refused */
  alongside?: readonly (keyof J & string)[];
}

export const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const isAbort = (err: unknown) => err instanceof Error && err.name === 'AbortError';

/** Serves the page's boot and job messages on `port` (the worker's global scope by default). */
export function serveJobs<J extends JobMap, S = unknown, R = unknown>(
  name: string,
  opts: ServeOptions<J, S, R>,
  port: WorkerPort = self as unknown as WorkerPort,
): void {
  const alongside = new Set<string>(opts.alongside ?? []);
  const live = new Map<string, { job: string; controller: AbortController }>();
  let booted: Promise<R> | null = null;
  const post = (m: FromWorker) => port.postMessage(m);

  async function runJob(id: string, job: string, args: unknown): Promise<void> {
    const handler = (opts.jobs as Record<string, JobHandlers<JobMap>[string]>)[job];
    if (!handler) {
      post({ kind: 'error', id, content: { message: `${name} has no job "${job}"`, cancelled: false, job } });
      return;
    }
    if (!alongside.has(job)) {
      const other = [...live.values()].find((l) => !alongside.has(l.job));
      if (other) {
        const message = `${name}: a ${other.job} job is already running (cancel it first)`;
        post({ kind: 'error', id, content: { message, cancelled: false, job } });
        return;
      }
    }
    const controller = new AbortController();
    live.set(id, { job, controller });
    try {
      if (!booted) throw new Error(`${name} was not booted`);
      await booted;
      const result = await handler(args, {
        id,
        signal: controller.signal,
        progress: (ev) => post({ kind: 'progress', id, content: ev }),
      });
      post({ kind: 'result', id, content: result });
    } catch (err) {
      const cancelled = controller.signal.aborted || isAbort(err);
      post({ kind: 'error', id, content: { message: cancelled ? 'cancelled' : errText(err), cancelled, job } });
    } finally {
      live.delete(id);
    }
  }

  forwardUnhandled(port, (message) => post({ kind: 'error', id: '', content: { message, cancelled: false } }));
  port.onmessage = (ev: MessageEvent<ToWorker>) => {
    const m = ev.data;
    if (m.kind === 'boot') {
      if (booted) return;
      const b = opts.boot(m.content as S, (p) => post({ kind: 'progress', id: m.id, content: p }));
      booted = b;
      b.then(
        (ready) => post({ kind: 'ready', id: m.id, content: ready }),
        (err) =>
          post({
            kind: 'error',
            id: m.id,
            content: { message: `Could not start the ${name}: ${errText(err)}`, cancelled: false, fatal: true },
          }),
      );
    } else if (m.kind === 'cancel') live.get(m.id)?.controller.abort(m.content.reason ?? 'cancelled');
    else void runJob(m.id, m.content.job, m.content.args);
  };
}

/**
 * Unhandled rejections in the worker become worker-wide error events (id '') instead of silent
 * console noise; so does a crash of a nested worker (a wasm pthread), whose real message and file:line
 * go out here (Emscripten rethrows its ErrorEvent, which reaches the page as "[object ErrorEvent]").
 */
function forwardUnhandled(port: WorkerPort, report: (message: string) => void): void {
  const scope = port as Partial<DedicatedWorkerGlobalScope>;
  if (typeof scope.addEventListener !== 'function') return;
  const who = scope.name || 'worker';
  scope.addEventListener('unhandledrejection', (e) => report(`${who}: ${errText(e.reason)}`));
  scope.addEventListener('error', (e) => {
    const inner = e.error as { message?: unknown; filename?: unknown } | null;
    if (inner && typeof inner === 'object' && typeof inner.message === 'string' && 'filename' in inner)
      report(`${who}: ${describeWorkerError(inner, 'a wasm thread')}`);
  });
}
