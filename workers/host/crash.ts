/**
 * Page side: turns a worker's `error` event (an ErrorEvent from an uncaught exception, or a bare
 * Event when the script fails to load) into a readable line, never "[object ErrorEvent]":
 *   "ReferenceError: e is not defined (eval.worker-abc.js:1:2345)"
 */
export function describeWorkerError(ev: Event | ErrorEvent | unknown, what = 'worker'): string {
  const e = ev as Partial<ErrorEvent> & { type?: string };
  const raw =
    typeof e?.message === 'string' && e.message
      ? e.message
      : e?.error instanceof Error
        ? `${e.error.name}: ${e.error.message}`
        : '';
  const stripped = raw.replace(/^Uncaught\s+/, '');
  const message =
    stripped === '[object ErrorEvent]'
      ? 'a nested worker (wasm thread) failed; its message is in the error reported just before'
      : stripped || `${what} script failed to load or crashed without a message (${e?.type ?? 'error'} event)`;
  const file = typeof e?.filename === 'string' && e.filename ? e.filename.split('/').pop() : '';
  const where = file ? ` (${file}${e.lineno ? `:${e.lineno}` : ''}${e.colno ? `:${e.colno}` : ''})` : '';
  return `${what} crashed: ${message}${where}`;
}
