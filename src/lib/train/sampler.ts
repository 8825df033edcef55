import { mulberry32 } from '../model/sample';

/**
 * Data order as a pure function of (seed, position): epoch e visits a seeded permutation of the rows.
 * A resumed run therefore needs only the step number to continue on the same batches.
 */
export class EpochSampler {
  private cache = new Map<number, Uint32Array>();
  constructor(
    readonly n: number,
    readonly seed: number,
  ) {
    if (n <= 0) throw new Error('no training rows');
  }

  private perm(epoch: number): Uint32Array {
    let p = this.cache.get(epoch);
    if (p) return p;
    p = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) p[i] = i;
    const rng = mulberry32((this.seed * 1000003 + epoch * 7919) >>> 0);
    for (let i = this.n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    if (this.cache.size > 4) this.cache.clear();
    this.cache.set(epoch, p);
    return p;
  }

  /** Row indices for micro-batch `index` of size `size`. */
  batch(index: number, size: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < size; k++) {
      const pos = index * size + k;
      out.push(this.perm(Math.floor(pos / this.n))[pos % this.n]);
    }
    return out;
  }
}
