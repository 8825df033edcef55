/**
 * The page's one job slot (src/ui/job-slot.ts, wrapped in runes by src/ui/stores/jobs.svelte.ts):
 * one long job at a time, a busy slot names the job that holds it, stale tickets free nothing, and
 * `run` frees the slot whether the work resolves or throws.
 */
import { describe, expect, it } from 'vitest';
import { JobBusyError, JobSlot, describeJob, type Job } from '../../src/ui/job-slot';

describe('JobSlot', () => {
  it('holds one job; a second start throws naming the first; finish frees it', () => {
    const seen: (Job | null)[] = [];
    const slot = new JobSlot(
      (j) => seen.push(j),
      () => 1000,
    );
    expect(slot.current).toBeNull();
    const t = slot.start('training', 'clo-1');
    expect(slot.current).toEqual({ id: t, kind: 'training', label: 'clo-1', startedAt: 1000 });

    let err: unknown;
    try {
      slot.start('evaluation', 'base');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JobBusyError);
    expect((err as JobBusyError).holder.kind).toBe('training');
    expect((err as Error).message).toBe('Training: clo-1 is running; wait for it to finish or stop it first');
    expect(slot.current?.kind).toBe('training'); // the refused start changed nothing

    expect(slot.finish(t)).toBe(true);
    expect(slot.current).toBeNull();
    const t2 = slot.start('evaluation', 'base');
    expect(t2).not.toBe(t);
    expect(seen.map((j) => j && `${j.kind}:${j.label}`)).toEqual(['training:clo-1', null, 'evaluation:base']);
  });

  it('a stale ticket neither frees nor renames the job that holds the slot now', () => {
    const slot = new JobSlot();
    const old = slot.start('experiment', 'clo-vs-sft');
    slot.finish(old);
    const now = slot.start('winrate', 'A vs B');
    expect(slot.finish(old)).toBe(false);
    expect(slot.update(old, 'hijacked')).toBe(false);
    expect(slot.current).toMatchObject({ id: now, kind: 'winrate', label: 'A vs B' });
    expect(slot.update(now, 'A vs B · 3/5')).toBe(true);
    expect(slot.current?.label).toBe('A vs B · 3/5');
  });

  it('run() frees the slot when the work resolves and when it throws', async () => {
    const slot = new JobSlot();
    await expect(slot.run('pairs', 'ko', async () => 42)).resolves.toBe(42);
    expect(slot.current).toBeNull();
    await expect(
      slot.run('vocabulary', 'ko', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(slot.current).toBeNull();
    // while a run() is pending, the slot is taken
    let release!: () => void;
    const pending = slot.run('retention', 'base', () => new Promise<void>((r) => (release = r)));
    expect(() => slot.start('training')).toThrow(/Retention & fidelity: base is running/);
    release();
    await pending;
    expect(slot.current).toBeNull();
  });

  it('describes a job by kind, then label', () => {
    expect(describeJob({ kind: 'pairs', label: '' })).toBe('Pair building');
    expect(describeJob({ kind: 'vocabulary', label: 'ko, 64 tokens' })).toBe('Vocabulary: ko, 64 tokens');
  });
});
