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
