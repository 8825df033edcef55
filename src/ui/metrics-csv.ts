/** Per-step metrics as CSV: one row per step, fixed columns; metrics an objective does not log are empty cells. */
import type { StepMetrics } from '../lib/train/types';

export const METRIC_COLUMNS: (keyof StepMetrics)[] = [
  'step',
  'loss',
  'loss/nll',
  'loss/pref',
  'rewards/chosen',
  'rewards/rejected',
  'rewards/margins',
  'rewards/accuracies',
  'lr',
  'grad_norm',
  'tokens_per_s',
  'tokens',
  'ms',
];

export function metricsToCsv(metrics: StepMetrics[]): string {
  const lines = [METRIC_COLUMNS.join(',')];
  for (const m of metrics) lines.push(METRIC_COLUMNS.map((k) => (m[k] === undefined ? '' : String(m[k]))).join(','));
  return lines.join('\n') + '\n';
}
