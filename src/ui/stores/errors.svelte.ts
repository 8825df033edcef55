/**
 * App-wide error messages shown in the ErrorBanner (dismissable). An error reported with a key goes
 * by itself once the thing it reports is fixed (the code that sees the fix calls clearErrors(key)).
 */

export interface AppError {
  id: number;
  message: string;
  /** what the error is about (e.g. `run:<id>`): clearErrors(key) removes it once that is fixed */
  key?: string;
}

class ErrorsState {
  list = $state.raw<AppError[]>([]);
}

export const appErrors = new ErrorsState();

let next = 1;

export function reportError(err: unknown, key?: string): void {
  const message = err instanceof Error ? err.message : String(err);
  appErrors.list = [...appErrors.list, { id: next++, message, ...(key ? { key } : {}) }];
}

/** Removes the errors about `key` (the thing they reported has been fixed, e.g. the run now trains). */
export function clearErrors(key: string): void {
  if (appErrors.list.some((e) => e.key === key)) appErrors.list = appErrors.list.filter((e) => e.key !== key);
}

export function dismissError(id: number): void {
  appErrors.list = appErrors.list.filter((e) => e.id !== id);
}
