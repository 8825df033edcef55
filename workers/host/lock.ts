/** A one-at-a-time lock: training steps and generations take turns on the tfjs backend. */
export function createLock() {
  let tail: Promise<unknown> = Promise.resolve();
  return function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Yields a macrotask so queued messages (pause, stop, generate) are handled between steps. */
export const yieldToMessages = () => new Promise<void>((r) => setTimeout(r, 0));
