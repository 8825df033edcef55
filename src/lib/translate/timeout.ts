/**
 * Time limits for translator calls that may never answer (a built-in translator waiting for a
 * language pack it cannot download offline, a server that accepts the connection and stalls).
 */

/**
 * Resolves or rejects with `work`, unless `ms` passes first: then `onTimeout()` runs (abort the
 * work there) and its error is thrown. `ms` undefined, non-finite or <= 0 means no limit. When
 * `cancel` is given, its abort rejects at once with `onCancel()` (work that ignores its own
 * signal cannot hold up a pause).
 */
export function deadline<T>(
  work: Promise<T>,
  ms: number | undefined,
  onTimeout: () => Error,
  cancel?: { signal?: AbortSignal; onCancel: () => Error },
): Promise<T> {
  const limited = ms !== undefined && Number.isFinite(ms) && ms > 0;
  if (!limited && !cancel?.signal) return work;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      cancel?.signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(cancel?.onCancel());
    };
    const timer = limited
      ? setTimeout(() => {
          if (finish()) reject(onTimeout());
        }, ms)
      : undefined;
    if (cancel?.signal?.aborted) onAbort();
    else cancel?.signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        if (finish()) resolve(v);
      },
      (e: unknown) => {
        if (finish()) reject(e);
      },
    );
  });
}

/** "40 ms", "3 s", "1.5 s", "2 min" */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms >= 120_000) return `${Math.round(ms / 60_000)} min`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
