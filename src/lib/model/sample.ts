/** Small seeded PRNG (mulberry32): reproducible sampling and data order on every backend. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform PRNG (Box–Muller). */
export function gaussian(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export interface SampleOptions {
  temperature: number;
  topP: number;
  rng: () => number;
}

/** Greedy at temperature 0; otherwise softmax(logits / T) restricted to the smallest top-p nucleus. */
export function sampleToken(logits: Float32Array, { temperature, topP, rng }: SampleOptions): number {
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp((logits[i] - max) / temperature);
    sum += probs[i];
  }
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  let keep = order.length;
  if (topP < 1) {
    let acc = 0;
    for (let i = 0; i < order.length; i++) {
      acc += probs[order[i]] / sum;
      if (acc >= topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let i = 0; i < keep; i++) mass += probs[order[i]];
  let r = rng() * mass;
  for (let i = 0; i < keep; i++) {
    r -= probs[order[i]];
    if (r <= 0) return order[i];
  }
  return order[keep - 1];
}
