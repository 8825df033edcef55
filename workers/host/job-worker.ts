/**
 * The job runtime, page side: one typed client per worker kind (created in ./registry.ts, the only
 * place that starts workers). The worker boots on first use with the page's settings; a change of
 * settings replaces it (its live jobs end cancelled, saying why); a crash rejects every live job and
 * drops the worker, so the next call boots a fresh one.
 *
 *   const r = await evalJobs.call('evaluate', args, { onProgress, signal });   // typed from EvalJobs
 *   controller.abort();          // the job's signal in the worker aborts; the call rejects {cancelled: true}
 *   evalJobs.live;               // the jobs in flight: [{ id, job, args }]
 *
 * A call with `record` is kept in sessionStorage (./in-flight.ts) until it settles, so a reload can
 * say what it interrupted and offer to restart it.
 */
import { describeWorkerError } from './crash';
import { forgetInFlight, rememberInFlight, type InFlightRecord } from './in-flight';
import type { FromWorker, JobFailure, JobMap, ToWorker } from './jobs';

export class JobError extends Error {
  constructor(
    message: string,
    readonly cancelled: boolean,
    /** the job kind that failed, when known */
    readonly job?: string,
  ) {
    super(message);
  }
}

/** What the runtime needs of a Worker (a real one, or a fake in tests). */
export interface WorkerLike {
  postMessage(message: ToWorker): void;
  onmessage: ((ev: MessageEvent<FromWorker>) => unknown) | null;
  onerror: ((ev: ErrorEvent) => unknown) | null;
  terminate(): void;
}

export interface CallOptions<P> {
  onProgress?: (ev: P) => void;
  /** aborting it cancels the job (its reason, when a string, reaches the worker: e.g. 'pause') */
  signal?: AbortSignal;
  /** keep the call in sessionStorage while it runs (a reload then offers to restart it) */
  record?: Omit<InFlightRecord, 'id' | 'startedAt'>;
}

export interface LiveJob {
  id: string;
  job: string;
  args: unknown;
}

interface Pending {
  job: string;
  args: unknown;
  resolve: (v: unknown) => void;
  reject: (e: JobError) => void;
  onProgress?: (ev: unknown) => void;
  done: () => void;
}

export interface JobWorkerOptions<S> {
  /** for messages, e.g. 'evaluation worker' */
  name: string;
  create: () => WorkerLike;
  /** equal keys = the running worker can serve the wanted settings (default: JSON) */
  key?: (s: S) => string;
  /** sees every job's result before its call resolves (e.g. tensor counts for the leak check) */
  onResult?: (job: string, result: unknown) => void;
}

export class JobWorker<J extends JobMap, S = unknown, R = unknown> {
  private worker: WorkerLike | null = null;
  private running: S | null = null;
  private wanted: S;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private ready: Promise<R> | null = null;
  private readonly readyFns = new Set<(r: R) => void>();
  private readonly bootFns = new Set<(p: unknown) => void>();
  private readonly errorFns = new Set<(message: string, fatal: boolean) => void>();
  private readonly changeFns = new Set<(live: LiveJob[]) => void>();

  constructor(
    private readonly o: JobWorkerOptions<S>,
    initial: S,
  ) {
    this.wanted = initial;
  }

  private key(s: S): string {
    return this.o.key ? this.o.key(s) : JSON.stringify(s ?? null);
  }

  get name(): string {
    return this.o.name;
  }

  /** The settings the next worker boots with. */
  get settings(): S {
    return this.wanted;
  }

  /** What the next worker boots with; a change from the running worker's settings replaces it. */
  configure(next: S, why = 'the settings changed'): void {
    this.wanted = next;
    if (this.worker && this.key(this.running as S) !== this.key(next))
      this.drop(`${why}: the ${this.o.name} restarts on the new one`, true);
  }

  /** Replaces the worker now (a fresh boot with `next`), ending its live jobs cancelled. */
  restart(next: S = this.wanted, why = 'the worker restarted'): Promise<R> {
    this.wanted = next;
    this.drop(why, true);
    return this.warm();
  }

  /** Boots the worker now (it otherwise starts with its first call); resolves to its ready report. */
  warm(): Promise<R> {
    this.ensure();
    return this.ready!;
  }

  /** The jobs in flight, oldest first. */
  get live(): LiveJob[] {
    return [...this.pending].map(([id, p]) => ({ id, job: p.job, args: p.args }));
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Every worker's ready report. */
  onReady(fn: (r: R) => void): () => void {
    this.readyFns.add(fn);
    return () => this.readyFns.delete(fn);
  }

  /** Progress the worker reports while it boots (e.g. model downloads). */
  onBootProgress(fn: (p: unknown) => void): () => void {
    this.bootFns.add(fn);
    return () => this.bootFns.delete(fn);
  }

  /** Errors not tied to a call: worker-wide reports, a failed boot or a crash (`fatal`). */
  onError(fn: (message: string, fatal: boolean) => void): () => void {
    this.errorFns.add(fn);
    return () => this.errorFns.delete(fn);
  }

  /** Called whenever a job starts or settles, with the jobs in flight. */
  onChange(fn: (live: LiveJob[]) => void): () => void {
    this.changeFns.add(fn);
    return () => this.changeFns.delete(fn);
  }

  /** Runs one job in the worker; resolves to its result, rejects with a JobError. */
  call<K extends keyof J & string>(
    job: K,
    args: J[K]['args'],
    opts: CallOptions<J[K]['progress']> = {},
  ): Promise<J[K]['result']> {
    if (opts.signal?.aborted) return Promise.reject(new JobError('cancelled', true, job));
    const w = this.ensure();
    const id = `${job}-${Date.now().toString(36)}-${++this.seq}`;
    return new Promise<J[K]['result']>((resolve, reject) => {
      const onAbort = () => {
        const reason = opts.signal?.reason;
        if (this.worker === w)
          w.postMessage({ kind: 'cancel', id, content: { reason: typeof reason === 'string' ? reason : undefined } });
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.record) rememberInFlight({ ...opts.record, id, startedAt: Date.now() });
      this.pending.set(id, {
        job,
        args,
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress as ((ev: unknown) => void) | undefined,
        done: () => {
          opts.signal?.removeEventListener('abort', onAbort);
          if (opts.record) forgetInFlight(id);
        },
      });
      this.changed();
      w.postMessage({ kind: 'job', id, content: { job, args } });
    });
  }

  private changed(): void {
    const live = this.live;
    for (const fn of this.changeFns) fn(live);
  }

  private settle(id: string): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.done();
    this.changed();
    return p;
  }

  /** Drops the worker: every live job rejects with `why`. */
  private drop(why: string, cancelled: boolean): void {
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    this.running = null;
    w?.terminate();
    for (const id of [...this.pending.keys()]) {
      const p = this.settle(id)!;
      p.reject(new JobError(why, cancelled, p.job));
    }
  }

  /** Routes one message from the worker (exposed for tests). */
  handle(m: FromWorker): void {
    if (m.kind === 'ready') {
      for (const fn of this.readyFns) fn(m.content as R);
      this.resolveReady?.(m.content as R);
      return;
    }
    const p = this.pending.get(m.id);
    if (m.kind === 'progress') {
      if (p) p.onProgress?.(m.content);
      else for (const fn of this.bootFns) fn(m.content);
    } else if (m.kind === 'result') {
      const done = this.settle(m.id);
      if (done) this.o.onResult?.(done.job, m.content);
      done?.resolve(m.content);
    } else {
      const f: JobFailure = m.content;
      if (p) this.settle(m.id)!.reject(new JobError(f.message, f.cancelled, f.job ?? p.job));
      else for (const fn of this.errorFns) fn(f.message, !!f.fatal);
      if (f.fatal) {
        this.rejectReady?.(new JobError(f.message, false));
        this.drop(f.message, false);
      }
    }
  }

  private resolveReady: ((r: R) => void) | null = null;
  private rejectReady: ((e: JobError) => void) | null = null;

  private ensure(): WorkerLike {
    if (this.worker) return this.worker;
    const w = this.o.create();
    w.onmessage = (ev) => {
      if (this.worker === w) this.handle(ev.data);
    };
    w.onerror = (ev) => {
      ev.preventDefault?.();
      if (this.worker !== w) return;
      const message = describeWorkerError(ev, this.o.name);
      console.error(`[${this.o.name}] ${message}`);
      for (const fn of this.errorFns) fn(message, true);
      this.rejectReady?.(new JobError(message, false));
      this.drop(message, false);
    };
    this.ready = new Promise<R>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.running = this.wanted;
    this.worker = w;
    w.postMessage({ kind: 'boot', id: `boot-${++this.seq}`, content: this.wanted });
    return w;
  }
}
