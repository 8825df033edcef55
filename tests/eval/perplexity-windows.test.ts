import { describe, expect, it } from 'vitest';
import { perplexityWindows } from '../../src/lib/eval/perplexity';

describe('perplexity windows', () => {
  it('scores every token after BOS exactly once', () => {
    const ids = Array.from({ length: 10 }, (_, i) => 100 + i);
    const w = perplexityWindows(ids, 4);
    expect(w).toEqual([
      { ids: [100, 101, 102, 103, 104], start: 1 },
      { ids: [104, 105, 106, 107, 108], start: 1 },
      { ids: [108, 109], start: 1 },
    ]);
    expect(w.flatMap((x) => x.ids.slice(x.start))).toEqual(ids.slice(1));
    expect(perplexityWindows([1], 4)).toEqual([]);
  });
});
