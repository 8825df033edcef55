/**
 * Time limits for translator calls that may never answer (a built-in translator waiting for a
 * language pack it cannot download offline, a server that accepts the connection and stalls).
 */

/**
 * Resolves or rejects with `work`, unless `ms` passes first: then `onTimeout()` runs (abort the
 * work there) and its error is thrown. `ms` undefined, non-finite or <= 0 means no limit.
 */
export function deadline<T>(work: Promise<T>, ms: number | undefined, onTimeout: () => Error): Promise<T> {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return work;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(onTimeout());
    }, ms);
    work.then(
      (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
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
