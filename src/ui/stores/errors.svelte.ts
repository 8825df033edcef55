/** App-wide error messages shown in the ErrorBanner (dismissable). */

export interface AppError {
  id: number;
  message: string;
}

class ErrorsState {
  list = $state.raw<AppError[]>([]);
}

export const appErrors = new ErrorsState();

let next = 1;

export function reportError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  appErrors.list = [...appErrors.list, { id: next++, message }];
}

export function dismissError(id: number): void {
  appErrors.list = appErrors.list.filter((e) => e.id !== id);
}
