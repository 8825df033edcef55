/**
 * Helper threads for the attention kernel on a shared memory (tfjs-backend-wasm's threaded heap). The
 * kernel's pairs (batch row × KV head) are independent, so a call's pairs are cut into contiguous ranges:
 * the calling thread runs the first, each helper one of the others, on the same memory, and the caller
 * waits for them (Atomics). tfjs's own pool idles meanwhile, so the cores it uses for the dense products
 * do the attention too; before, the kernel ran on the calling thread alone (~17% of a 6-layer CLO step).
 *
 * A helper is a worker (worker_threads under Node, a Web Worker in the browser) that instantiates the
 * kernel module on the memory and then blocks in Atomics.wait for jobs; it starts asynchronously, and
 * calls made before it is ready run on the calling thread alone. Every pair is computed by the same code
 * whichever thread runs it, so results are bit-identical to a single thread. Not used where the calling
 * thread may not block (a page's main thread) or where no worker can be made. The packed-matmul kernel
 * uses the same helpers with its own module (a pool per module and memory; its arguments are all i32, so
 * SCALE_AT never applies to them).
 */

/** Slots of the control block (Int32, one block per helper). */
const SEQ = 0; // job number, bumped by the caller
const DONE = 1; // last job finished, set by the helper
const READY = 2; // 1 once the helper has instantiated the module, −1 if it failed
const FAILED = 3; // 1 when the last job threw
const OP = 4; // 0 forward, 1 backward
const NARGS = 5;
const ARGS = 8; // the kernel's arguments, i32 (the scale's slot holds f32 bits)
const SLOTS = ARGS + 32;

/** Runs in the helper: the same text under Node (worker_threads) and in browsers. */
const HELPER_SOURCE = `
const start = (d) => {
  const c = new Int32Array(d.ctrl);
  const f = new Float32Array(d.ctrl);
  let k;
  try {
    k = new WebAssembly.Instance(new WebAssembly.Module(d.bytes), { env: { mem: d.memory } }).exports;
  } catch (e) {
    Atomics.store(c, ${READY}, -1);
    Atomics.notify(c, ${READY});
    return;
  }
  Atomics.store(c, ${READY}, 1);
  Atomics.notify(c, ${READY});
  let seen = 0;
  for (;;) {
    Atomics.wait(c, ${SEQ}, seen);
    seen = Atomics.load(c, ${SEQ});
    if (seen < 0) return;
    const n = c[${NARGS}];
    const args = [];
    for (let i = 0; i < n; i++) args.push(i === d.scaleAt[c[${OP}]] ? f[${ARGS} + i] : c[${ARGS} + i]);
    try {
      if (c[${OP}] === 0) k.forward(...args);
      else k.backward(...args);
      c[${FAILED}] = 0;
    } catch (e) {
      c[${FAILED}] = 1;
    }
    Atomics.store(c, ${DONE}, seen);
    Atomics.notify(c, ${DONE});
  }
};
if (typeof self !== 'undefined' && typeof self.postMessage === 'function' && typeof require === 'undefined') {
  self.onmessage = (e) => start(e.data);
} else {
  require('node:worker_threads').parentPort.once('message', start);
}
`;

/** Index of the f32 scale among forward's and backward's arguments. */
export const SCALE_AT = [14, 19] as const;

export interface Helper {
  ctrl: Int32Array;
  f32: Float32Array;
  seq: number;
  pool: Pool;
}

interface Pool {
  helpers: Helper[];
  /** jobs the helpers ran (tests) */
  jobs: number;
}

/**
 * The pools of a memory, one per kernel module (`key`: the attention kernel's is 'attention'; the
 * packed-matmul kernel's helpers use the same code with its own module, forward and backward taking i32
 * arguments only).
 */
const pools = new WeakMap<WebAssembly.Memory, Map<string, Pool>>();

type NodeWorkerCtor = new (
  src: string,
  o: { eval: boolean },
) => { postMessage(m: unknown): void; unref(): void; on(e: string, f: () => void): void };

/** Starts a worker running HELPER_SOURCE; false where none can be made. */
function spawn(message: unknown): boolean {
  const g = globalThis as unknown as {
    process?: { getBuiltinModule?(id: string): { Worker: NodeWorkerCtor } | undefined };
    Worker?: new (url: string) => { postMessage(m: unknown): void };
    Blob?: typeof Blob;
    URL?: typeof URL;
  };
  try {
    const wt = g.process?.getBuiltinModule?.('node:worker_threads');
    if (wt) {
      const w = new wt.Worker(HELPER_SOURCE, { eval: true });
      w.on('error', () => undefined);
      w.postMessage(message);
      w.unref(); // blocked in Atomics.wait, it must not keep a CLI run alive
      return true;
    }
    if (g.Worker && g.Blob && g.URL) {
      const url = g.URL.createObjectURL(new g.Blob([HELPER_SOURCE], { type: 'text/javascript' }));
      new g.Worker(url).postMessage(message);
      return true;
    }
  } catch {
    return false;
  }
  return false;
}

/** True where this thread may block in Atomics.wait (Node, workers; not a page's main thread). */
function mayBlock(): boolean {
  const g = globalThis as unknown as { document?: unknown; process?: unknown };
  return typeof Atomics !== 'undefined' && typeof SharedArrayBuffer !== 'undefined' && (!g.document || !!g.process);
}

let wanted = defaultHelpers();
function defaultHelpers(): number {
  const g = globalThis as unknown as { navigator?: { hardwareConcurrency?: number } };
  const cores = g.navigator?.hardwareConcurrency ?? 2;
  return Math.max(0, Math.min(3, cores - 1));
}

/**
 * Helpers to start per shared memory (default: cores − 1, at most 3; 0 turns them off). Memories that
 * already have helpers keep them.
 */
export function setAttentionHelpers(n: number): void {
  wanted = Math.max(0, Math.floor(n));
}

/** The pool of a kernel module on a shared memory (started on first use), or null where helpers do not apply. */
function poolFor(memory: WebAssembly.Memory, bytes: () => Uint8Array, key: string): Pool | null {
  let byKey = pools.get(memory);
  let pool = byKey?.get(key);
  if (pool) return pool;
  if (wanted === 0 || !mayBlock() || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  if (!byKey) pools.set(memory, (byKey = new Map()));
  pool = { helpers: [], jobs: 0 };
  byKey.set(key, pool);
  const b = bytes();
  for (let i = 0; i < wanted; i++) {
    const ctrl = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    if (!spawn({ ctrl: ctrl.buffer, memory, bytes: b, scaleAt: SCALE_AT })) break;
    pool.helpers.push({ ctrl, f32: new Float32Array(ctrl.buffer), seq: 0, pool });
  }
  return pool;
}

/** Jobs the helpers of a kernel module have run on a memory (tests: proves the threaded path ran). */
export function helperJobs(memory: WebAssembly.Memory, key: string): number {
  return pools.get(memory)?.get(key)?.jobs ?? 0;
}

/** Jobs the attention kernel's helpers have run on a memory. */
export function attentionHelperJobs(memory: WebAssembly.Memory): number {
  return helperJobs(memory, 'attention');
}

/**
 * The ready helpers for a call of a kernel module (`bytes`: its build for a shared memory; `key` names
 * it) on this memory: none until they have started.
 */
export function readyHelpers(memory: WebAssembly.Memory, bytes: () => Uint8Array, key = 'attention'): Helper[] {
  const pool = poolFor(memory, bytes, key);
  if (!pool) return [];
  return pool.helpers.filter((h) => Atomics.load(h.ctrl, READY) === 1);
}

/** Hands a job to a helper (it starts at once). */
export function post(h: Helper, op: 0 | 1, args: number[]): void {
  for (let i = 0; i < args.length; i++) {
    if (i === SCALE_AT[op]) h.f32[ARGS + i] = args[i];
    else h.ctrl[ARGS + i] = args[i];
  }
  h.ctrl[OP] = op;
  h.ctrl[NARGS] = args.length;
  h.seq++;
  Atomics.store(h.ctrl, SEQ, h.seq);
  Atomics.notify(h.ctrl, SEQ);
  h.pool.jobs++;
}

/** Waits for a helper's job; throws if it failed. */
export function join(h: Helper): void {
  // wait on the very value just read: reading DONE again for the wait could see the finished job's
  // number and then sleep on it for good (the hang this once had)
  for (let d = Atomics.load(h.ctrl, DONE); d !== h.seq; d = Atomics.load(h.ctrl, DONE)) Atomics.wait(h.ctrl, DONE, d);
  if (h.ctrl[FAILED]) throw new Error('wasm kernel: a helper thread failed');
}
