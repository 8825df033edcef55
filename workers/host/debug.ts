/**
 * Page side: the workers' live tensor counts as their events report them (train: every progress
 * event; eval: every result), kept on `globalThis.__cloLabTensors` (last 1,000 of each) so a leak
 * check (tests/e2e) or a person in the console can see whether they stay flat.
 */
export interface TensorSample {
  numTensors: number;
  numBytes: number;
}

type Log = { train: TensorSample[]; eval: TensorSample[] };

export function recordTensors(kind: keyof Log, s: TensorSample | undefined): void {
  if (!s) return;
  const g = globalThis as { __cloLabTensors?: Log };
  g.__cloLabTensors ??= { train: [], eval: [] };
  const list = g.__cloLabTensors[kind];
  list.push({ numTensors: s.numTensors, numBytes: s.numBytes });
  if (list.length > 1000) list.shift();
}
