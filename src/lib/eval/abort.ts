/** Cancellation helpers shared by the evaluation loops (AbortSignal is available in browsers and Node). */

export function abortError(): Error {
  const e = new Error('evaluation cancelled');
  e.name = 'AbortError';
  return e;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError();
}

/**
 * Lets queued events run (a worker's cancel message sets the signal), then throws if aborted. Without
 * a signal it returns at once. A MessageChannel round trip, not setTimeout: no 4 ms clamp per call.
 */
export async function yieldForCancel(signal?: AbortSignal): Promise<void> {
  if (!signal) return;
  if (typeof MessageChannel === 'function') {
    await new Promise<void>((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    });
  }
  throwIfAborted(signal);
}
