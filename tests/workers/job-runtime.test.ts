/**
 * The job runtime end to end in one process: the page's JobWorker (workers/host/job-worker.ts) wired to
 * serveJobs (workers/host/jobs.ts) through a fake Worker. Id routing, the one-job rule (and the kinds
 * that run alongside), cancel through an AbortSignal, errors, boot, crashes and restarts, and the
 * in-flight records a reload reads (workers/host/in-flight.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { JobError, JobWorker, type WorkerLike } from '../../workers/host/job-worker';
import { serveJobs, type FromWorker, type JobSpec, type ToWorker, type WorkerPort } from '../../workers/host/jobs';
import { takeInterrupted } from '../../workers/host/in-flight';

type TestJobs = {
  count: JobSpec<{ to: number }, number, string>;
  wait: JobSpec<{ ms: number }, never, string>;
  side: JobSpec<null, never, string>;
  fail: JobSpec<{ why: string }, never, never>;
  loop: JobSpec<null, number, { stoppedBy: string }>;
};

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

/** A worker whose global scope is served by serveJobs in this process (messages cross a macrotask). */
class FakeWorker implements WorkerLike {
  onmessage: ((ev: MessageEvent<FromWorker>) => unknown) | null = null;
  onerror: ((ev: ErrorEvent) => unknown) | null = null;
  terminated = false;
  sent: ToWorker[] = [];
  readonly port: WorkerPort = {
    onmessage: null,
    postMessage: (m) =>
      setTimeout(() => {
        if (!this.terminated) this.onmessage?.({ data: m } as MessageEvent<FromWorker>);
      }, 0),
  };
  constructor(bootSettings: { seen: unknown[] }) {
    serveJobs<TestJobs, string, { booted: string }>(
      'test worker',
      {
        boot: async (s) => {
          bootSettings.seen.push(s);
          if (s === 'broken') throw new Error('no backend');
          return { booted: s };
        },
        alongside: ['side'],
        jobs: {
          count: async ({ to }, { progress }) => {
            for (let i = 1; i <= to; i++) progress(i);
            return `counted to ${to}`;
          },
          wait: async ({ ms }, { signal }) => {
            await new Promise<void>((resolve, reject) => {
              const t = setTimeout(resolve, ms);
              signal.addEventListener('abort', () => {
                clearTimeout(t);
                reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
              });
            });
            return 'waited';
          },
          side: async () => 'beside',
          fail: async ({ why }) => {
            throw new Error(why);
          },
          loop: async (_, { signal, progress }) => {
            let i = 0;
            while (!signal.aborted) {
              progress(++i);
              await tick();
            }
            return { stoppedBy: String(signal.reason) };
          },
        },
      },
      this.port,
    );
  }
  postMessage(m: ToWorker): void {
    this.sent.push(m);
    setTimeout(() => this.port.onmessage?.({ data: m } as MessageEvent<ToWorker>), 0);
  }
  terminate(): void {
    this.terminated = true;
  }
}

function runtime() {
  const made: FakeWorker[] = [];
  const boots = { seen: [] as unknown[] };
  const jobs = new JobWorker<TestJobs, string, { booted: string }>(
    {
      name: 'test worker',
      create: () => {
        const w = new FakeWorker(boots);
        made.push(w);
        return w;
      },
    },
    'wasm',
  );
  return { jobs, made, boots };
}

beforeEach(() => {
  takeInterrupted();
});

describe('job runtime', () => {
  it('boots on first call and routes progress and the result to the call by its id', async () => {
    const { jobs, made, boots } = runtime();
    const a: number[] = [];
    const r = await jobs.call('count', { to: 3 }, { onProgress: (n) => a.push(n) });
    expect(r).toBe('counted to 3');
    expect(a).toEqual([1, 2, 3]);
    expect(made).toHaveLength(1);
    expect(boots.seen).toEqual(['wasm']);
    expect(made[0].sent.map((m) => m.kind)).toEqual(['boot', 'job']);
    expect(await jobs.warm()).toEqual({ booted: 'wasm' });
    expect(jobs.live).toEqual([]);
  });

  it('refuses a second job while one runs, naming it; an alongside kind runs beside it', async () => {
    const { jobs } = runtime();
    const ctl = new AbortController();
    const first = jobs.call('wait', { ms: 10_000 }, { signal: ctl.signal });
    await expect(jobs.call('count', { to: 1 })).rejects.toThrow(/a wait job is already running/);
    await expect(jobs.call('side', null)).resolves.toBe('beside');
    expect(jobs.live.map((l) => l.job)).toEqual(['wait']);
    ctl.abort();
    await expect(first).rejects.toMatchObject({ cancelled: true });
    await expect(jobs.call('count', { to: 1 })).resolves.toBe('counted to 1');
  });

  it('cancels through the signal: the handler sees the abort and the call rejects cancelled', async () => {
    const { jobs, made } = runtime();
    const ctl = new AbortController();
    const p = jobs.call('wait', { ms: 10_000 }, { signal: ctl.signal });
    await tick();
    ctl.abort();
    const err = (await p.catch((e) => e)) as JobError;
    expect(err).toBeInstanceOf(JobError);
    expect(err.cancelled).toBe(true);
    expect(made[0].sent.at(-1)?.kind).toBe('cancel');
  });

  it('passes the abort reason; a handler that returns after the abort resolves (pause = abort + result)', async () => {
    const { jobs } = runtime();
    const ctl = new AbortController();
    let steps = 0;
    const p = jobs.call('loop', null, { signal: ctl.signal, onProgress: (n) => (steps = n) });
    while (steps < 3) await tick();
    ctl.abort('pause');
    expect(await p).toEqual({ stoppedBy: 'pause' });
  });

  it('reports a failing job with its message and kind, not cancelled; the worker keeps serving', async () => {
    const { jobs, made } = runtime();
    const err = (await jobs.call('fail', { why: 'file missing' }).catch((e) => e)) as JobError;
    expect(err.message).toBe('file missing');
    expect(err.cancelled).toBe(false);
    expect(err.job).toBe('fail');
    await expect(jobs.call('count', { to: 2 })).resolves.toBe('counted to 2');
    expect(made).toHaveLength(1);
  });

  it('a failed boot rejects the waiting call and the next call boots a fresh worker', async () => {
    const { jobs, made } = runtime();
    jobs.configure('broken');
    const errors: string[] = [];
    jobs.onError((m) => errors.push(m));
    await expect(jobs.call('count', { to: 1 })).rejects.toThrow(/Could not start the test worker: no backend/);
    expect(errors[0]).toMatch(/no backend/);
    expect(made[0].terminated).toBe(true);
    jobs.configure('wasm');
    await expect(jobs.call('count', { to: 1 })).resolves.toBe('counted to 1');
    expect(made).toHaveLength(2);
  });

  it('a change of settings replaces the worker, cancelling its live job with the reason', async () => {
    const { jobs, made, boots } = runtime();
    const p = jobs.call('wait', { ms: 10_000 });
    jobs.configure('wasm');
    expect(made[0].terminated).toBe(false);
    jobs.configure('webgpu', 'the backend changed');
    await expect(p).rejects.toMatchObject({ cancelled: true, message: /the backend changed/ });
    expect(made[0].terminated).toBe(true);
    await jobs.call('count', { to: 1 });
    expect(boots.seen).toEqual(['wasm', 'webgpu']);
  });

  it('a crash rejects every live job and drops the worker', async () => {
    const { jobs, made } = runtime();
    const p = jobs.call('wait', { ms: 10_000 });
    made[0].onerror?.({ message: 'Uncaught RangeError: out of memory', preventDefault() {} } as ErrorEvent);
    await expect(p).rejects.toMatchObject({ cancelled: false, message: /test worker crashed: RangeError/ });
    expect(jobs.busy).toBe(false);
    expect(made[0].terminated).toBe(true);
  });

  it('keeps a recorded call in sessionStorage until it settles (what a reload finds)', async () => {
    const store = new Map<string, string>();
    (globalThis as { sessionStorage?: unknown }).sessionStorage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    };
    try {
      const { jobs } = runtime();
      const ctl = new AbortController();
      const p = jobs.call(
        'wait',
        { ms: 10_000 },
        { signal: ctl.signal, record: { what: 'waiting', label: 'Wait', request: { ms: 10_000 } } },
      );
      const done = jobs.call('count', { to: 1 }, { record: { what: 'c', label: 'C', request: 1 } });
      await expect(done).rejects.toThrow(/already running/);
      const left = takeInterrupted();
      expect(left.map((r) => [r.what, r.label, r.request])).toEqual([['waiting', 'Wait', { ms: 10_000 }]]);
      expect(takeInterrupted()).toEqual([]);
      ctl.abort();
      await p.catch(() => undefined);
      await jobs.call('count', { to: 1 }, { record: { what: 'c', label: 'C', request: 1 } });
      expect(takeInterrupted()).toEqual([]);
    } finally {
      delete (globalThis as { sessionStorage?: unknown }).sessionStorage;
    }
  });
});
