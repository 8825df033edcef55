/**
 * Runs across tabs (workers/host/run-locks.ts): two RunPresence "tabs" share one fake Web Locks
 * manager (exclusive and shared modes, ifAvailable, waiting requests with an AbortSignal, query) and
 * Node's BroadcastChannel. A tab sees the other's live run with its phase and step, cannot claim that
 * run or the same device, hears pause and end, and hears a closed tab through its released locks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  RunBusyError,
  RunPresence,
  deviceOf,
  deviceLockName,
  runLockName,
  tryLock,
  type LocksLike,
  type RunState,
} from '../../workers/host/run-locks';

interface Held {
  name: string;
  mode: 'exclusive' | 'shared';
}
interface Waiting extends Held {
  grant: () => void;
}

/** A lock manager with the Web Locks semantics used by run-locks.ts (one per "browser profile"). */
class FakeLocks implements LocksLike {
  private held: Held[] = [];
  private queue: Waiting[] = [];

  private grantable(name: string, mode: 'exclusive' | 'shared'): boolean {
    const h = this.held.filter((x) => x.name === name);
    return mode === 'shared' ? h.every((x) => x.mode === 'shared') : h.length === 0;
  }

  request(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal; mode?: 'exclusive' | 'shared' },
    callback: (lock: unknown) => unknown,
  ): Promise<unknown> {
    const mode = options.mode ?? 'exclusive';
    const run = async () => {
      const entry: Held = { name, mode };
      this.held.push(entry);
      try {
        return await callback({ name, mode });
      } finally {
        this.held.splice(this.held.indexOf(entry), 1);
        this.pump();
      }
    };
    const queued = this.queue.some((q) => q.name === name);
    if (!queued && this.grantable(name, mode)) return run();
    if (options.ifAvailable) return Promise.resolve(callback(null));
    return new Promise((resolve, reject) => {
      const w: Waiting = { name, mode, grant: () => run().then(resolve, reject) };
      this.queue.push(w);
      options.signal?.addEventListener('abort', () => {
        const i = this.queue.indexOf(w);
        if (i >= 0) {
          this.queue.splice(i, 1);
          reject(new DOMException('aborted', 'AbortError'));
        }
      });
    });
  }

  private pump(): void {
    for (const w of [...this.queue]) {
      if (!this.grantable(w.name, w.mode)) continue;
      this.queue.splice(this.queue.indexOf(w), 1);
      w.grant();
    }
  }

  query() {
    return Promise.resolve({ held: this.held.map((h) => ({ name: h.name, mode: h.mode })) });
  }

  holds(name: string): boolean {
    return this.held.some((h) => h.name === name);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20));
let channelName = 0;
const open: RunPresence[] = [];

function tabs(locks = new FakeLocks()) {
  const name = `runs-test-${++channelName}`;
  const make = (tabId: string) => {
    let changes = 0;
    const p = new RunPresence({
      locks,
      channel: new BroadcastChannel(name) as unknown as ConstructorParameters<typeof RunPresence>[0]['channel'],
      tabId,
      onChange: () => changes++,
    });
    open.push(p);
    return { p, changes: () => changes };
  };
  return { locks, make };
}

const state = (over: Partial<RunState> = {}): RunState => ({
  runId: 'r1',
  name: 'clo-a',
  phase: 'running',
  step: 3,
  total: 20,
  backend: 'wasm',
  ...over,
});

afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

describe('run locks across tabs', () => {
  it('maps backends to the device they train on', () => {
    expect(['webgpu', 'webgl', 'wasm', 'cpu'].map(deviceOf)).toEqual(['gpu', 'gpu', 'cpu', 'cpu']);
    expect(deviceLockName('cpu')).toBe('clo-lab:train:cpu');
    expect(runLockName('r1')).toBe('clo-lab:run:r1');
  });

  it('tryLock takes a free lock and says null for a held one; release frees it', async () => {
    const locks = new FakeLocks();
    const release = await tryLock(locks, 'x');
    expect(release).not.toBeNull();
    expect(await tryLock(locks, 'x')).toBeNull();
    release!();
    await tick();
    expect(locks.holds('x')).toBe(false);
    expect(await tryLock(locks, 'x')).not.toBeNull();
  });

  it("a tab sees another tab's live run with its phase and step, and cannot claim it or its device", async () => {
    const { locks, make } = tabs();
    const a = make('A');
    const b = make('B');
    await a.p.claimRun('r1');
    await a.p.claimDevice('wasm');
    a.p.announce(state());
    await tick();
    expect(b.p.elsewhere().get('r1')).toMatchObject({ tabId: 'A', name: 'clo-a', phase: 'running', step: 3 });
    expect(b.changes()).toBeGreaterThan(0);

    await expect(b.p.claimRun('r1', 'clo-a')).rejects.toThrow(/"clo-a" is open in another tab/);
    // wasm and cpu share the processor: either is refused, naming the run that trains there
    await expect(b.p.claimDevice('cpu')).rejects.toBeInstanceOf(RunBusyError);
    await expect(b.p.claimDevice('wasm')).rejects.toThrow(/training run "clo-a" on this processor \(wasm\)/);
    // the graphics adapter is another device
    await b.p.claimDevice('webgpu');
    expect(locks.holds(deviceLockName('gpu'))).toBe(true);
  });

  it('pause frees the device but keeps the run; end frees both and the other tab forgets the run', async () => {
    const { locks, make } = tabs();
    const a = make('A');
    const b = make('B');
    await a.p.claimRun('r1');
    await a.p.claimDevice('wasm');
    a.p.announce(state());
    a.p.announce(state({ phase: 'paused', step: 5 }));
    await tick();
    expect(b.p.elsewhere().get('r1')).toMatchObject({ phase: 'paused', step: 5 });
    expect(locks.holds(deviceLockName('cpu'))).toBe(false);
    await expect(b.p.claimRun('r1')).rejects.toBeInstanceOf(RunBusyError);
    // the processor is free: B may train its own run while A's is paused
    await b.p.claimDevice('wasm');
    b.p.releaseDevice();

    a.p.announce(state({ phase: 'ended', step: 5 }));
    await tick();
    expect(b.p.elsewhere().has('r1')).toBe(false);
    expect(locks.holds(runLockName('r1'))).toBe(false);
    await b.p.claimRun('r1');
    expect(b.p.holds('r1')).toBe(true);
  });

  it('a tab that opens later learns the live runs (hello, then the lock query)', async () => {
    const { locks, make } = tabs();
    const a = make('A');
    await a.p.claimRun('r1');
    a.p.announce(state({ step: 7 }));
    const b = make('B');
    await tick();
    expect(b.p.elsewhere().get('r1')).toMatchObject({ phase: 'running', step: 7 });

    // a run lock held with no message heard (e.g. the message was lost): live, phase unknown
    const hidden = await tryLock(locks, runLockName('r2'));
    await b.p.sync();
    expect(b.p.elsewhere().get('r2')).toMatchObject({ phase: null, tabId: null });
    expect(b.p.elsewhere().has('r1')).toBe(true);
    // its holder lets it go: the watcher hears it, and the lock query agrees
    hidden!();
    await tick();
    expect(b.p.elsewhere().has('r2')).toBe(false);
    await b.p.sync();
    expect(b.p.elsewhere().has('r2')).toBe(false);
  });

  it("a closed tab's runs are no longer live elsewhere (locks released without an 'ended' message)", async () => {
    const { make } = tabs();
    const a = make('A');
    const b = make('B');
    await a.p.claimRun('r1');
    await a.p.claimDevice('wasm');
    a.p.announce(state());
    await tick();
    expect(b.p.elsewhere().has('r1')).toBe(true);
    const before = b.changes();
    a.p.close();
    await tick();
    expect(b.p.elsewhere().has('r1')).toBe(false);
    expect(b.changes()).toBeGreaterThan(before);
    await b.p.claimDevice('wasm');
    await b.p.claimRun('r1');
  });

  it("a tab ignores its own messages and keeps its own runs out of 'elsewhere'", async () => {
    const { make } = tabs();
    const a = make('A');
    await a.p.claimRun('r1');
    a.p.announce(state());
    await a.p.sync();
    await tick();
    expect(a.p.elsewhere().size).toBe(0);
    // claiming a run or device it already holds is a no-op
    await a.p.claimRun('r1');
    await a.p.claimDevice('wasm');
    await a.p.claimDevice('cpu');
  });
});
