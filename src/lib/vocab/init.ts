/**
 * Initialisation of added embedding rows (docs/methods.md §8 step 2): `salt`, `mean` (FVT) and
 * `random`, one function each with the same interface. Each works on one matrix (the input
 * embedding, or an untied output head) of the old vocabulary and returns the new rows only; the
 * old rows are never touched (growModel copies them unchanged).
 */
import { gaussian, mulberry32 } from '../model/sample';
import { sparsemax } from './sparsemax';
import { pinvCoefficients } from './linalg';

/**
 * Default rcond of SALT's pseudo-inverse (ours; docs/choices.md): with the lab's skip-gram space the
 * neighbours are clustered and an exact pinv extrapolates (rcond 0.01: new-row norms up to 37 vs at
 * most 3.2 for old rows, which wrecks English log-probs through the tied head); 0.2 keeps them in range.
 */
export const SALT_RCOND = 0.2;

export type InitMethod = 'salt' | 'mean' | 'random';
export const INIT_METHODS: InitMethod[] = ['salt', 'mean', 'random'];

/**
 * An auxiliary vector space for SALT: vectors for some old tokens (the shared tokens) and for
 * some new tokens, all of the same dimension. A missing vector is null.
 */
export interface AuxSpace {
  dim: number;
  /** per old id: its auxiliary vector, or null (not shared) */
  old: (Float32Array | null)[];
  /** per new token (learned order): its auxiliary vector, or null */
  added: (Float32Array | null)[];
  /** where the space came from, for reports */
  source: string;
}

export interface InitInput {
  /** old matrix [oldVocab, D], row-major */
  matrix: Float32Array;
  oldVocab: number;
  dim: number;
  /** per new token: the old ids the old tokenizer splits it into (for `mean`) */
  oldPieces: number[][];
  seed: number;
  aux?: AuxSpace | null;
  /** SALT: candidates kept (by cosine) before sparsemax (default 64) */
  maxNeighbours?: number;
  /** SALT: singular values of A[neighbours] below rcond·σ_max are dropped from the pseudo-inverse (numpy's pinv(A, rcond)) */
  rcond?: number;
}

export interface InitStats {
  /** SALT: new tokens initialised from neighbours, and the mean neighbour count */
  fromNeighbours: number;
  meanNeighbours: number;
  /** tokens that fell back to N(mean, std) */
  fallback: number;
}

/** Per-dimension mean and std of the old rows. */
export function rowStats(m: Float32Array, rows: number, dim: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < dim; j++) {
      const x = m[r * dim + j];
      mean[j] += x;
      sq[j] += x * x;
    }
  const std = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    mean[j] /= rows;
    std[j] = Math.sqrt(Math.max(0, sq[j] / rows - mean[j] * mean[j]));
  }
  return { mean, std };
}

function normalRow(
  out: Float32Array,
  at: number,
  dim: number,
  mean: Float64Array,
  std: Float64Array,
  rng: () => number,
): void {
  for (let j = 0; j < dim; j++) out[at * dim + j] = mean[j] + std[j] * gaussian(rng);
}

export function initRandom(inp: InitInput): { rows: Float32Array; stats: InitStats } {
  const n = inp.oldPieces.length;
  const rows = new Float32Array(n * inp.dim);
  const { mean, std } = rowStats(inp.matrix, inp.oldVocab, inp.dim);
  const rng = mulberry32(inp.seed);
  for (let i = 0; i < n; i++) normalRow(rows, i, inp.dim, mean, std, rng);
  return { rows, stats: { fromNeighbours: 0, meanNeighbours: 0, fallback: n } };
}

/** FVT: the mean of the old rows of the pieces the old tokenizer splits the token into. */
export function initMean(inp: InitInput): { rows: Float32Array; stats: InitStats } {
  const { dim, matrix } = inp;
  const n = inp.oldPieces.length;
  const rows = new Float32Array(n * dim);
  const { mean, std } = rowStats(matrix, inp.oldVocab, dim);
  const rng = mulberry32(inp.seed);
  let fallback = 0;
  inp.oldPieces.forEach((ids, i) => {
    if (ids.length === 0) {
      normalRow(rows, i, dim, mean, std, rng);
      fallback++;
      return;
    }
    const acc = new Float64Array(dim);
    for (const id of ids) for (let j = 0; j < dim; j++) acc[j] += matrix[id * dim + j];
    for (let j = 0; j < dim; j++) rows[i * dim + j] = acc[j] / ids.length;
  });
  return { rows, stats: { fromNeighbours: 0, meanNeighbours: 0, fallback } };
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/**
 * SALT for one new token: cosine to every shared token in the auxiliary space, sparsemax over the
 * (top maxNeighbours) similarities, X = pinv(A[nbrs])·E[nbrs], e = a·X. Returns the neighbour ids
 * and weights too (for tests and the UI).
 */
export function saltRow(
  a: Float32Array,
  shared: { id: number; vec: Float32Array; norm: number }[],
  matrix: Float32Array,
  dim: number,
  maxNeighbours = 64,
  rcond = 0,
): { row: Float32Array; neighbours: number[]; weights: number[] } {
  const an = norm(a) || 1;
  const sims = shared.map((s, i) => {
    let dot = 0;
    for (let t = 0; t < a.length; t++) dot += a[t] * s.vec[t];
    return { i, cos: dot / (an * (s.norm || 1)) };
  });
  sims.sort((x, y) => y.cos - x.cos || x.i - y.i);
  const cand = sims.slice(0, maxNeighbours);
  const p = sparsemax(cand.map((c) => c.cos));
  const nb = cand.filter((_, j) => p[j] > 0);
  const weights = cand.map((_, j) => p[j]).filter((w) => w > 0);
  const k = nb.length;
  const d = a.length;
  const A = new Float64Array(k * d);
  nb.forEach((c, r) => A.set(shared[c.i].vec, r * d));
  const coef = pinvCoefficients(A, k, d, a, rcond > 0 ? rcond * rcond : undefined);
  const row = new Float32Array(dim);
  const acc = new Float64Array(dim);
  nb.forEach((c, r) => {
    const id = shared[c.i].id;
    for (let j = 0; j < dim; j++) acc[j] += coef[r] * matrix[id * dim + j];
  });
  for (let j = 0; j < dim; j++) row[j] = acc[j];
  return { row, neighbours: nb.map((c) => shared[c.i].id), weights };
}

export function initSalt(inp: InitInput): { rows: Float32Array; stats: InitStats } {
  const { dim, matrix, aux } = inp;
  if (!aux) throw new Error('salt: no auxiliary space (learn one from the corpus or give a donor)');
  const n = inp.oldPieces.length;
  const rows = new Float32Array(n * dim);
  const { mean, std } = rowStats(matrix, inp.oldVocab, dim);
  const rng = mulberry32(inp.seed);
  const shared: { id: number; vec: Float32Array; norm: number }[] = [];
  aux.old.forEach((v, id) => {
    if (v && id < inp.oldVocab && norm(v) > 0) shared.push({ id, vec: v, norm: norm(v) });
  });
  let fromNeighbours = 0;
  let nbSum = 0;
  let fallback = 0;
  for (let i = 0; i < n; i++) {
    const a = aux.added[i];
    if (!a || shared.length === 0 || norm(a) === 0) {
      normalRow(rows, i, dim, mean, std, rng);
      fallback++;
      continue;
    }
    const r = saltRow(a, shared, matrix, dim, inp.maxNeighbours ?? 64, inp.rcond ?? SALT_RCOND);
    rows.set(r.row, i * dim);
    fromNeighbours++;
    nbSum += r.neighbours.length;
  }
  return { rows, stats: { fromNeighbours, meanNeighbours: fromNeighbours ? nbSum / fromNeighbours : 0, fallback } };
}

export function initRows(method: InitMethod, inp: InitInput): { rows: Float32Array; stats: InitStats } {
  if (method === 'salt') return initSalt(inp);
  if (method === 'mean') return initMean(inp);
  if (method === 'random') return initRandom(inp);
  throw new Error(`unknown init "${method}" (expected one of: ${INIT_METHODS.join(', ')})`);
}
