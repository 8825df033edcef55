/**
 * This tab's side of training across tabs (workers/host/run-locks.ts) as rune state: `presence.elsewhere`
 * is the runs other tabs of the lab have open (the run list shows them live, not interrupted). The runs
 * store claims a run and its device before it starts or resumes it (`claimTraining`, which throws
 * RunBusyError when another tab has the run or trains on the device), and shares each progress of its
 * live run (`shareProgress`). Where the browser has no Web Locks or BroadcastChannel, every claim
 * succeeds and nothing is shared: one tab behaves as before.
 */
import { RunPresence, RUNS_CHANNEL, type OtherRun, type SharedPhase } from '../../../workers/host/run-locks';

export { RunBusyError } from '../../../workers/host/run-locks';

class PresenceState {
  /** runs open in other tabs, by run id */
  elsewhere = $state.raw<ReadonlyMap<string, OtherRun>>(new Map());
}

export const presence = new PresenceState();

const listeners: (() => void)[] = [];
let shared: RunPresence | null = null;
/** the runs open elsewhere and their phases, as last told to the listeners */
let told = '';

/** Called when a run opens or closes elsewhere or changes phase there (not at each step), e.g. to list the stored runs again. */
export function onElsewhereChange(fn: () => void): void {
  listeners.push(fn);
}

function instance(): RunPresence | null {
  if (shared) return shared;
  if (typeof navigator === 'undefined' || !navigator.locks || typeof BroadcastChannel === 'undefined') return null;
  const p: RunPresence = new RunPresence({
    locks: navigator.locks,
    channel: new BroadcastChannel(RUNS_CHANNEL),
    onChange: () => {
      presence.elsewhere = new Map(p.elsewhere());
      const now = [...p.elsewhere().values()].map((r) => `${r.runId}:${r.phase}`).join(',');
      if (now === told) return;
      told = now;
      for (const fn of listeners) fn();
    },
  });
  shared = p;
  return p;
}

/**
 * Takes the run's lock and the lock of the device `backend` trains on, before this tab trains the run.
 * Throws RunBusyError (holding neither new lock) when another tab has the run open or trains on the device.
 */
export async function claimTraining(runId: string, name: string, backend: string): Promise<void> {
  const p = instance();
  if (!p) return;
  const had = p.holds(runId);
  await p.claimRun(runId, name);
  try {
    await p.claimDevice(backend);
  } catch (err) {
    if (!had) p.releaseRun(runId);
    throw err;
  }
}

const sharedPhase = (phase: string): SharedPhase => (phase === 'running' || phase === 'paused' ? phase : 'ended');

/** Tells the other tabs where this tab's run is; a phase other than running/paused lets the run go. */
export function shareProgress(
  e: { runId: string; phase: string; step: number; total: number },
  name: string,
  backend: string,
): void {
  const p = instance();
  if (!p?.holds(e.runId)) return;
  p.announce({ runId: e.runId, name, phase: sharedPhase(e.phase), step: e.step, total: e.total, backend });
}

/** Lets a run go (closed in this tab: refused, replaced by another run, or its worker is gone). */
export function letRunGo(runId: string): void {
  const p = instance();
  if (!p?.holds(runId)) return;
  p.announce({ runId, name: runId, phase: 'ended', step: 0, total: 0, backend: '' });
}

/** Checks the runs believed open elsewhere against the locks actually held. */
export async function syncPresence(): Promise<void> {
  await instance()?.sync();
}
