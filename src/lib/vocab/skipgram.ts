/**
 * The lab's own auxiliary space for SALT (ours, not the paper's: the paper uses pretrained fastText
 * vectors): a small skip-gram with negative sampling (word2vec SGNS) over the corpus tokenized with
 * the extended tokenizer, so old and new tokens get vectors in one space. Plain typed-array SGD,
 * seeded and deterministic; a few seconds on the bundled Korean corpus.
 */
import { mulberry32 } from '../model/sample';

export interface SkipGramOptions {
  dim?: number;
  window?: number;
  negatives?: number;
  epochs?: number;
  lr?: number;
  seed?: number;
  /** stop after this many (centre, context) updates per epoch (keeps the cost bounded) */
  maxPairsPerEpoch?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SkipGramResult {
  dim: number;
  /** [vocab, dim] input vectors */
  vectors: Float32Array;
  /** occurrences of each id in the corpus */
  counts: Int32Array;
}

export function trainSkipGram(sequences: number[][], vocab: number, o: SkipGramOptions = {}): SkipGramResult {
  const dim = o.dim ?? 32;
  const win = o.window ?? 3;
  const neg = o.negatives ?? 5;
  const epochs = o.epochs ?? 2;
  const lr0 = o.lr ?? 0.025;
  const rng = mulberry32(o.seed ?? 0);
  const counts = new Int32Array(vocab);
  let total = 0;
  for (const s of sequences)
    for (const id of s)
      if (id >= 0 && id < vocab) {
        counts[id]++;
        total++;
      }
  // unigram^0.75 table for negatives
  const tableSize = 1 << 18;
  const table = new Int32Array(tableSize);
  let z = 0;
  for (let i = 0; i < vocab; i++) z += Math.pow(counts[i], 0.75);
  let acc = 0;
  let t = 0;
  for (let i = 0; i < vocab && z > 0; i++) {
    acc += Math.pow(counts[i], 0.75) / z;
    while (t < tableSize && t / tableSize < acc) table[t++] = i;
  }
  while (t < tableSize) table[t++] = vocab - 1;
  const W = new Float32Array(vocab * dim);
  const C = new Float32Array(vocab * dim);
  for (let i = 0; i < W.length; i++) W[i] = (rng() - 0.5) / dim;
  const grad = new Float32Array(dim);
  const maxPairs = o.maxPairsPerEpoch ?? 1_500_000;
  const totalSteps = epochs * Math.min(maxPairs, total * 2 * win);
  let step = 0;
  const sig = (x: number) => (x > 8 ? 1 : x < -8 ? 0 : 1 / (1 + Math.exp(-x)));
  for (let e = 0; e < epochs; e++) {
    let pairs = 0;
    outer: for (const s of sequences) {
      for (let i = 0; i < s.length; i++) {
        const c = s[i];
        const w = 1 + Math.floor(rng() * win);
        for (let j = Math.max(0, i - w); j <= Math.min(s.length - 1, i + w); j++) {
          if (j === i) continue;
          const lr = Math.max(lr0 * 1e-3, lr0 * (1 - step / totalSteps));
          step++;
          const ctx = s[j];
          grad.fill(0);
          for (let k = 0; k <= neg; k++) {
            const target = k === 0 ? ctx : table[Math.floor(rng() * tableSize)];
            if (k > 0 && target === ctx) continue;
            const label = k === 0 ? 1 : 0;
            let dot = 0;
            for (let d = 0; d < dim; d++) dot += W[c * dim + d] * C[target * dim + d];
            const g = (label - sig(dot)) * lr;
            for (let d = 0; d < dim; d++) {
              grad[d] += g * C[target * dim + d];
              C[target * dim + d] += g * W[c * dim + d];
            }
          }
          for (let d = 0; d < dim; d++) W[c * dim + d] += grad[d];
          if (++pairs >= maxPairs) break outer;
        }
      }
    }
    o.onProgress?.(e + 1, epochs);
  }
  return { dim, vectors: W, counts };
}
