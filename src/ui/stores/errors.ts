/** App-wide error messages shown in the ErrorBanner (dismissable). */
import { writable } from 'svelte/store';

export interface AppError {
  id: number;
  message: string;
}

let next = 1;
export const appErrors = writable<AppError[]>([]);

export function reportError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  appErrors.update((list) => [...list, { id: next++, message }]);
}

export function dismissError(id: number): void {
  appErrors.update((list) => list.filter((e) => e.id !== id));
}
