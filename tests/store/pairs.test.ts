/** PairSetStore: built pairs and their failure report survive in a KeyValueStore (IndexedDB in the app). */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/lib/store/memory';
import { PairSetStore, type PairSetMeta } from '../../src/lib/store/pairs';
import type { CloPair } from '../../src/lib/translate/pairs';
import type { RecordFailure } from '../../src/lib/translate/job';

const meta = (id: string, updatedAt: number): PairSetMeta => ({
  id,
  name: `set ${id}`,
  englishName: 'en.jsonl',
  lang: 'ko',
  translatorId: 'parallel:x.jsonl',
  translatorLabel: 'Parallel corpus',
  createdAt: 1,
  updatedAt,
  total: 2,
  joint: 0,
  fallback: 1,
  failed: 1,
  complete: true,
});

const pair: CloPair = {
  index: 0,
  provenance: 'fallback',
  row: { kind: 'clo', xEn: 'x', yEn: 'y', xTgt: '엑스', yTgt: '와이', lang: 'ko' },
};
const failure: RecordFailure = { index: 1, part: 2, kind: 'missing', why: 'no entry for "b"' };

describe('PairSetStore', () => {
  it('saves, lists newest first without loading pairs, overwrites by id and deletes', async () => {
    const kv = memoryStore();
    const ps = new PairSetStore(kv);
    await ps.save(meta('a', 1), { pairs: [pair], failures: [failure] });
    await ps.save(meta('b', 2), { pairs: [], failures: [] });
    expect((await ps.list()).map((m) => m.id)).toEqual(['b', 'a']);
    expect(await ps.get('a')).toEqual({ pairs: [pair], failures: [failure] });
    // a store opened afresh on the same storage (a reload) sees the same sets
    const again = new PairSetStore(kv);
    expect((await again.getMeta('a'))?.name).toBe('set a');
    await again.save({ ...meta('a', 3), fallback: 2, failed: 0 }, { pairs: [pair, pair], failures: [] });
    expect((await again.list()).map((m) => [m.id, m.fallback])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    await again.delete('a');
    expect(await again.get('a')).toBeUndefined();
    expect(await kv.keys('pairs')).toEqual(['pairsmeta:b', 'pairsrows:b']);
  });
});
