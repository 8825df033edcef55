/** workers/host/job-client.ts with a fake Worker: boot, routing, one job at a time, restarts. */
import { describe, expect, it } from 'vitest';
import { JobClient, WorkerJobError } from '../../workers/host/job-client';

type Ev = { type: string; jobId?: string; message?: string; cancelled?: boolean; fatal?: boolean; n?: number };
type Cmd = { type: string; jobId?: string; backend?: string };

class FakeWorker {
  posted: Cmd[] = [];
  terminated = false;
  onmessage: ((ev: MessageEvent<Ev>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  postMessage(m: Cmd) {
    this.posted.push(m);
  }
  terminate() {
    this.terminated = true;
  }
  emit(e: Ev) {
    this.onmessage?.({ data: e } as MessageEvent<Ev>);
  }
}

function client() {
  const made: FakeWorker[] = [];
  const results: Ev[] = [];
  const c = new JobClient<Cmd, Ev, string | undefined>(
    {
      name: 'test worker',
      jobPrefix: 't',
      create: () => {
        const w = new FakeWorker();
        made.push(w);
        return w as unknown as Worker;
      },
      init: (backend) => ({ type: 'init', backend }),
      results: ['done'],
      key: (b) => b ?? 'auto',
      cancel: (jobId) => ({ type: 'cancel', jobId }),
      onResult: (e) => results.push(e),
    },
    undefined,
  );
  return { c, made, results };
}

describe('JobClient', () => {
  it('boots on first use, routes progress, other events and the result of the pending job only', async () => {
    const { c, made, results } = client();
    const progress: Ev[] = [];
    const other: Ev[] = [];
    const p = c.submit<Ev>({ type: 'work' }, { onProgress: (e) => progress.push(e), onEvent: (e) => other.push(e) });
    expect(made).toHaveLength(1);
    const [init, job] = made[0].posted;
    expect(init).toEqual({ type: 'init', backend: undefined });
    expect(job.type).toBe('work');
    expect(c.busy).toBe(true);
    made[0].emit({ type: 'progress', jobId: 'someone-else' });
    made[0].emit({ type: 'progress', jobId: job.jobId, n: 1 });
    made[0].emit({ type: 'curve', jobId: job.jobId, n: 2 });
    made[0].emit({ type: 'done', jobId: job.jobId, n: 3 });
    await expect(p).resolves.toMatchObject({ type: 'done', n: 3 });
    expect(progress.map((e) => e.n)).toEqual([1]);
    expect(other.map((e) => e.n)).toEqual([2]);
    expect(results).toHaveLength(1);
    expect(c.busy).toBe(false);
  });

  it('one job at a time; cancel posts the job id; a cancelled error rejects with cancelled', async () => {
    const { c, made } = client();
    const p = c.submit({ type: 'work' });
    await expect(c.submit({ type: 'work' })).rejects.toThrow(/already running in the test worker/);
    c.cancel();
    const job = made[0].posted[1];
    expect(made[0].posted[2]).toEqual({ type: 'cancel', jobId: job.jobId });
    made[0].emit({ type: 'error', jobId: job.jobId, message: 'stopped', cancelled: true });
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(WorkerJobError);
    expect(err.cancelled).toBe(true);
  });

  it('a settings change replaces the running worker (also one booted on auto) and cancels its job', async () => {
    const { c, made } = client();
    const p = c.submit({ type: 'work' });
    c.configure(undefined); // same key: nothing happens
    expect(made[0].terminated).toBe(false);
    c.configure('wasm', 'the backend changed');
    expect(made[0].terminated).toBe(true);
    const err = await p.catch((e) => e);
    expect(err.cancelled).toBe(true);
    expect(err.message).toMatch(/the backend changed: the test worker restarts/);
    void c.submit({ type: 'work' });
    expect(made).toHaveLength(2);
    expect(made[1].posted[0]).toEqual({ type: 'init', backend: 'wasm' });
  });

  it('a fatal error rejects the job and drops the worker; the next job boots a new one; ready reports', async () => {
    const { c, made } = client();
    const seen: Ev[] = [];
    c.onReady((e) => seen.push(e));
    const ready = c.warm();
    made[0].emit({ type: 'ready', n: 7 });
    await expect(ready).resolves.toMatchObject({ n: 7 });
    const p = c.submit({ type: 'work' });
    made[0].emit({ type: 'error', message: 'out of memory', fatal: true });
    const err = await p.catch((e) => e);
    expect(err.message).toBe('out of memory');
    expect(err.cancelled).toBe(false);
    expect(made[0].terminated).toBe(true);
    expect(c.readyReport()).toBeNull();
    void c.submit({ type: 'work' });
    expect(made).toHaveLength(2);
    expect(seen).toHaveLength(1);
  });
});
