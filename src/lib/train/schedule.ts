/** Linear warmup to `lr`, then cosine decay to lr·minLrRatio at the last step. step is 0-based. */
export function cosineWithWarmup(step: number, total: number, lr: number, warmup: number, minLrRatio = 0): number {
  if (warmup > 0 && step < warmup) return (lr * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup - 1);
  const p = Math.min(1, Math.max(0, (step - warmup) / span));
  const min = lr * minLrRatio;
  return min + (lr - min) * 0.5 * (1 + Math.cos(Math.PI * p));
}
