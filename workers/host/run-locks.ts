/**
 * Training runs across the tabs of one browser profile: who trains what, on which device.
 *
 * - A Web Lock per run (`clo-lab:run:<id>`), held by the tab whose worker has the run open (training
 *   or paused). Another tab cannot resume that run, and sees it as live rather than interrupted.
 * - A Web Lock per device (`clo-lab:train:cpu` | `clo-lab:train:gpu`), held while a tab's run takes
 *   steps. A second tab cannot start or resume a training on the same device; wasm and cpu share the
 *   processor's cores, webgpu and webgl the graphics adapter.
 * - A BroadcastChannel (`clo-lab-runs`) carrying each live run's state (started, step, paused, ended)
 *   with its run id and the sending tab's id, so other tabs show its phase and step. A tab that opens
 *   asks ('hello') and the tabs with live runs answer; locks found held through `locks.query()` with no
 *   message yet count as live, phase unknown. A tab that closes or crashes releases its locks: the
 *   tabs watching its runs hear it by the lock being granted to them.
 *
 * Framework-free (the runs store wraps it in runes); the lock manager and channel are passed in, so
 * tests run it on fakes.
 *
 *   const presence = new RunPresence({ locks: navigator.locks, channel: new BroadcastChannel(RUNS_CHANNEL) });
 *   await presence.claimRun(runId);            // throws RunBusyError when another tab has it open
 *   await presence.claimDevice('wasm', name);  // throws RunBusyError when another tab trains on the CPU
 *   presence.announce({ runId, name, phase: 'running', step, total, backend: 'wasm' });
 *   presence.announce({ ..., phase: 'paused' });   // frees the device, keeps the run
 *   presence.announce({ ..., phase: 'ended' });    // frees both
 */

export const RUNS_CHANNEL = 'clo-lab-runs';

export type TrainDevice = 'cpu' | 'gpu';

/** The device a backend trains on: its lock is shared by the backends on that device. */
export function deviceOf(backend: string): TrainDevice {
  return backend === 'webgpu' || backend === 'webgl' ? 'gpu' : 'cpu';
}

export const runLockName = (runId: string) => `clo-lab:run:${runId}`;
export const deviceLockName = (device: TrainDevice) => `clo-lab:train:${device}`;
const RUN_LOCK_PREFIX = runLockName('');

/** A live run's phase as other tabs see it; 'ended' leaves the live set. */
export type SharedPhase = 'running' | 'paused' | 'ended';

/** One live run's state on the channel. */
export interface RunState {
  runId: string;
  name: string;
  phase: SharedPhase;
  step: number;
  total: number;
  backend: string;
}

export type RunMessage = ({ type: 'state' } & RunState & { tabId: string }) | { type: 'hello'; tabId: string };

/** A run open in another tab; `phase` null when only its lock has been seen. */
export interface OtherRun {
  runId: string;
  tabId: string | null;
  name: string | null;
  phase: 'running' | 'paused' | null;
  step: number | null;
  total: number | null;
  backend: string | null;
}

/** The subset of the Web Locks API used here (navigator.locks). */
export interface LocksLike {
  request(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal; mode?: 'exclusive' | 'shared' },
    callback: (lock: unknown) => unknown,
  ): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

/** The subset of BroadcastChannel used here. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(): void;
}

export class RunBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunBusyError';
  }
}

/** Takes the lock `name` if no one holds it; resolves to its release function, or null when it is held. */
export function tryLock(locks: LocksLike, name: string): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}

const newTabId = () => `tab-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export class RunPresence {
  readonly tabId: string;
  private readonly locks: LocksLike;
  private readonly channel: ChannelLike;
  private readonly onChange: () => void;
  /** runs this tab has open: their lock's release and last state */
  private readonly mine = new Map<string, { release: () => void; state: RunState | null }>();
  private device: { device: TrainDevice; release: () => void } | null = null;
  private readonly others = new Map<string, OtherRun>();
  /** aborts the waiting lock request that watches another tab's run */
  private readonly watchers = new Map<string, AbortController>();
  private closed = false;

  constructor(o: { locks: LocksLike; channel: ChannelLike; tabId?: string; onChange?: () => void }) {
    this.locks = o.locks;
    this.channel = o.channel;
    this.tabId = o.tabId ?? newTabId();
    this.onChange = o.onChange ?? (() => undefined);
    this.channel.onmessage = (ev) => this.receive(ev.data as RunMessage);
    this.post({ type: 'hello', tabId: this.tabId });
  }

  /** Runs open in other tabs, by run id. */
  elsewhere(): ReadonlyMap<string, OtherRun> {
    return this.others;
  }

  /** Whether this tab holds the run's lock. */
  holds(runId: string): boolean {
    return this.mine.has(runId);
  }

  /** Takes the run's lock (kept while this tab has the run open); throws RunBusyError when another tab has it. */
  async claimRun(runId: string, name = runId): Promise<void> {
    if (this.mine.has(runId)) return;
    const release = await tryLock(this.locks, runLockName(runId));
    if (!release) {
      this.see({ runId, tabId: null, name: null, phase: null, step: null, total: null, backend: null });
      throw new RunBusyError(`run "${name}" is open in another tab of this lab: pause or stop it there first`);
    }
    this.mine.set(runId, { release, state: null });
  }

  /** Takes the device lock for training on `backend`; throws RunBusyError naming what trains there. */
  async claimDevice(backend: string): Promise<void> {
    const device = deviceOf(backend);
    if (this.device?.device === device) return;
    this.releaseDevice();
    const release = await tryLock(this.locks, deviceLockName(device));
    if (!release) {
      const other = [...this.others.values()].find(
        (r) => r.phase === 'running' && r.backend !== null && deviceOf(r.backend) === device,
      );
      const what = other?.name ? `run "${other.name}"` : 'a run';
      throw new RunBusyError(
        `another tab of this lab is training ${what} on this ${device === 'gpu' ? 'graphics adapter' : 'processor'} (${other?.backend ?? device}): pause or stop it there, or wait for it to end, before training here`,
      );
    }
    this.device = { device, release };
  }

  releaseDevice(): void {
    this.device?.release();
    this.device = null;
  }

  /** Frees the run's lock (the run closed in this tab without an 'ended' state, e.g. a refused start). */
  releaseRun(runId: string): void {
    const m = this.mine.get(runId);
    if (!m) return;
    m.release();
    this.mine.delete(runId);
  }

  /**
   * Tells the other tabs the state of a run this tab has open. 'paused' frees the device, 'ended'
   * (completed, stopped, failed, or the run closed) frees the device and the run.
   */
  announce(state: RunState): void {
    const m = this.mine.get(state.runId);
    if (m) m.state = state;
    if (state.phase !== 'running') this.releaseDevice();
    if (state.phase === 'ended') this.releaseRun(state.runId);
    this.post({ type: 'state', tabId: this.tabId, ...state });
  }

  /**
   * Reconciles with the locks actually held: a run lock held outside this tab is a live run (added,
   * phase unknown, if no message named it); a run believed live elsewhere whose lock nobody holds is
   * dropped (its tab closed).
   */
  async sync(): Promise<void> {
    const held = new Set(
      ((await this.locks.query()).held ?? [])
        .map((l) => l.name ?? '')
        .filter((n) => n.startsWith(RUN_LOCK_PREFIX))
        .map((n) => n.slice(RUN_LOCK_PREFIX.length)),
    );
    let changed = false;
    for (const id of [...this.others.keys()])
      if (!held.has(id)) {
        this.forget(id);
        changed = true;
      }
    for (const id of held)
      if (!this.mine.has(id) && !this.others.has(id)) {
        this.see({ runId: id, tabId: null, name: null, phase: null, step: null, total: null, backend: null }, false);
        changed = true;
      }
    if (changed) this.onChange();
  }

  /** Frees every lock and stops listening. */
  close(): void {
    this.closed = true;
    for (const id of [...this.mine.keys()]) this.releaseRun(id);
    this.releaseDevice();
    for (const w of this.watchers.values()) w.abort();
    this.watchers.clear();
    this.channel.onmessage = null;
    this.channel.close();
  }

  private post(m: RunMessage): void {
    if (!this.closed) this.channel.postMessage(m);
  }

  private receive(m: RunMessage): void {
    if (!m || m.tabId === this.tabId) return;
    if (m.type === 'hello') {
      for (const { state } of this.mine.values()) if (state) this.post({ type: 'state', tabId: this.tabId, ...state });
      return;
    }
    if (m.type !== 'state' || this.mine.has(m.runId)) return;
    if (m.phase === 'ended') {
      if (this.forget(m.runId)) this.onChange();
      return;
    }
    this.see({
      runId: m.runId,
      tabId: m.tabId,
      name: m.name,
      phase: m.phase,
      step: m.step,
      total: m.total,
      backend: m.backend,
    });
  }

  /** Records a run live elsewhere and watches its lock (granted to us once that tab lets the run go). */
  private see(run: OtherRun, notify = true): void {
    const prev = this.others.get(run.runId);
    this.others.set(run.runId, prev && run.phase === null ? { ...run, ...prev } : run);
    if (!this.watchers.has(run.runId) && !this.closed) {
      const ctl = new AbortController();
      this.watchers.set(run.runId, ctl);
      this.locks
        .request(runLockName(run.runId), { signal: ctl.signal, mode: 'shared' }, () => {
          // the other tab released the run (ended, closed, crashed): it is no longer live there
          if (this.watchers.get(run.runId) === ctl) this.watchers.delete(run.runId);
          if (this.forget(run.runId)) this.onChange();
        })
        .catch(() => undefined);
    }
    if (notify) this.onChange();
  }

  private forget(runId: string): boolean {
    const w = this.watchers.get(runId);
    this.watchers.delete(runId);
    w?.abort();
    return this.others.delete(runId);
  }
}
