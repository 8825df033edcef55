/**
 * The page side of a job worker (evaluation, vocabulary): one worker started on first use, booted with
 * the settings the page wants, one job at a time. A change of settings replaces the worker (a running
 * job ends cancelled, saying why); a fatal worker error rejects the pending job and drops the worker so
 * the next job boots a fresh one.
 *
 *   const jobs = new JobClient<Cmd, Ev, Settings>({ name: 'evaluation worker', create, init, results, key });
 *   jobs.configure({ backend: 'wasm' });
 *   const r = await jobs.submit<ResultEvent>({ type: 'evaluate', ... }, { onProgress });
 *   jobs.cancel();                           // the worker answers with an error event {cancelled: true}
 *
 * Events follow one shape across workers: `ready` (boot report), `progress` (with jobId), result events
 * (the types in `results`, with jobId) and `error` ({ jobId?, message, cancelled?, fatal? }); any other
 * event with the pending job's id goes to the job's `onEvent`.
 */
import { describeWorkerError } from './crash';

export class WorkerJobError extends Error {
  constructor(
    message: string,
    readonly cancelled: boolean,
  ) {
    super(message);
  }
}

interface JobEvent {
  type: string;
  jobId?: string;
}
interface ErrorEvent extends JobEvent {
  type: 'error';
  message: string;
  cancelled?: boolean;
  fatal?: boolean;
}

export interface JobClientOptions<Cmd, Ev extends JobEvent, Settings> {
  /** for messages, e.g. 'evaluation worker' */
  name: string;
  /** prefix of job ids */
  jobPrefix: string;
  /** new Worker(new URL('./x.worker.ts', import.meta.url), ...) */
  create: () => Worker;
  /** the command that boots a worker with these settings */
  init: (s: Settings) => Cmd;
  /** a job's settling event types */
  results: readonly Ev['type'][];
  /** equal keys = the running worker can serve the wanted settings */
  key: (s: Settings) => string;
  /** the cancel command for a job */
  cancel: (jobId: string) => Cmd;
  /** called with every settling event before the job resolves (e.g. tensor counts for the leak check) */
  onResult?: (e: Ev) => void;
}

interface Pending<Ev> {
  jobId: string;
  resolve: (e: Ev) => void;
  reject: (e: WorkerJobError) => void;
  onProgress?: (e: Ev) => void;
  onEvent?: (e: Ev) => void;
}

export class JobClient<Cmd, Ev extends JobEvent, Settings> {
  private worker: Worker | null = null;
  private pending: Pending<Ev> | null = null;
  private wanted: Settings;
  private running: Settings | null = null;
  private seq = 0;
  private ready: Promise<Ev> | null = null;
  private resolveReady: ((e: Ev) => void) | null = null;
  private readyListeners: ((e: Ev) => void)[] = [];

  constructor(
    private readonly o: JobClientOptions<Cmd, Ev, Settings>,
    initial: Settings,
  ) {
    this.wanted = initial;
  }

  /** What the next worker boots with; a change from the running worker's settings replaces it. */
  configure(next: Settings, why = 'the settings changed'): void {
    this.wanted = next;
    if (this.worker && this.o.key(this.running as Settings) !== this.o.key(next))
      this.stop(`${why}: the ${this.o.name} restarts on the new one`);
  }

  get settings(): Settings {
    return this.wanted;
  }

  /** The ready report of the current worker, once booted (null before the first start). */
  readyReport(): Promise<Ev> | null {
    return this.ready;
  }

  /** Called with every worker's ready report. */
  onReady(fn: (e: Ev) => void): void {
    this.readyListeners.push(fn);
  }

  /** Boots the worker now (it otherwise starts with its first job). */
  warm(): Promise<Ev> {
    this.ensure();
    return this.ready!;
  }

  get busy(): boolean {
    return this.pending !== null;
  }

  submit<T extends Ev>(
    cmd: Record<string, unknown> & { type: string },
    handlers: { onProgress?: (e: Ev) => void; onEvent?: (e: Ev) => void } = {},
  ): Promise<T> {
    if (this.pending)
      return Promise.reject(new WorkerJobError(`a job is already running in the ${this.o.name}`, false));
    const w = this.ensure();
    const jobId = `${this.o.jobPrefix}-${Date.now().toString(36)}-${++this.seq}`;
    return new Promise<T>((resolve, reject) => {
      this.pending = { jobId, resolve: resolve as (e: Ev) => void, reject, ...handlers };
      w.postMessage({ ...cmd, jobId });
    });
  }

  cancel(): void {
    if (this.pending && this.worker) this.worker.postMessage(this.o.cancel(this.pending.jobId));
  }

  private settle(): Pending<Ev> | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  private stop(reason: string): void {
    this.settle()?.reject(new WorkerJobError(reason, true));
    this.worker?.terminate();
    this.worker = null;
    this.ready = null;
    this.running = null;
  }

  /** Routes one event from the worker (exposed for tests). */
  handle(e: Ev): void {
    if (e.type === 'ready') {
      this.resolveReady?.(e);
      for (const fn of this.readyListeners) fn(e);
      return;
    }
    if (e.type === 'error') {
      const err = e as unknown as ErrorEvent;
      if (this.pending && (err.jobId === this.pending.jobId || err.fatal || err.jobId === undefined))
        this.settle()!.reject(new WorkerJobError(err.message, !!err.cancelled));
      if (err.fatal) {
        this.worker?.terminate();
        this.worker = null;
        this.ready = null;
        this.running = null;
      }
      return;
    }
    if (!this.pending || e.jobId !== this.pending.jobId) return;
    if (e.type === 'progress') this.pending.onProgress?.(e);
    else if (this.o.results.includes(e.type)) {
      this.o.onResult?.(e);
      this.settle()!.resolve(e);
    } else this.pending.onEvent?.(e);
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = this.o.create();
    w.onmessage = (ev: MessageEvent<Ev>) => this.handle(ev.data);
    w.onerror = (ev) => {
      ev.preventDefault();
      const message = describeWorkerError(ev, this.o.name);
      console.error(`[${this.o.name}] ${message}`);
      this.handle({ type: 'error', message, fatal: true } as unknown as Ev);
    };
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.running = this.wanted;
    w.postMessage(this.o.init(this.wanted));
    this.worker = w;
    return w;
  }
}
